from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """Provider connector bindings and the provider-facing endpoints."""

    name = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        from connectors.approvables import register_all

        register_all()
