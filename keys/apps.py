from django.apps import AppConfig


class KeysConfig(AppConfig):
    """Keys, versions, lifecycle and custody backends."""

    name = "keys"
    verbose_name = "Keys"

    def ready(self) -> None:
        from keys.approvables import register_all

        register_all()
