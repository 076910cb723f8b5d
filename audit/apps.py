from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only security event log."""

    name = "audit"
    verbose_name = "Audit log"
