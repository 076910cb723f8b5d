from django.apps import AppConfig


class KeysConfig(AppConfig):
    """Keys, versions, lifecycle and custody backends."""

    name = "keys"
    verbose_name = "Keys"
