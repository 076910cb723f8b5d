from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    """Quorum policies and approval requests."""

    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from approvals.policy import register_policy_change

        register_policy_change()
