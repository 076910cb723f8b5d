from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """Provider connector bindings."""

    name = "connectors"
    verbose_name = "Connectors"
