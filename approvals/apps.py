from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    """Quorum policies and approval requests."""

    name = "approvals"
    verbose_name = "Approvals"
