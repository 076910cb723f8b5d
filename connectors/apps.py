from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """Provider connector bindings and the provider-facing endpoints."""

    name = "connectors"
    verbose_name = "Connectors"

    def ready(self) -> None:
        from connectors.approvables import register_all

        register_all()

        from cockpit import readcache
        from connectors.models import BindingCredential, BindingKey, ConnectorBinding

        readcache.watch(BindingCredential, BindingKey, ConnectorBinding)

        from cockpit import groupcommit
        from connectors.services import CALL_GROUP_COMMIT_KIND, write_calls

        groupcommit.register(CALL_GROUP_COMMIT_KIND, write_calls)
