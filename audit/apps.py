from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The append-only security event log."""

    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit.services import GROUP_COMMIT_KIND, write_events
        from cockpit import groupcommit

        groupcommit.register(GROUP_COMMIT_KIND, write_events)
