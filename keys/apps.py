from django.apps import AppConfig


class KeysConfig(AppConfig):
    """Keys, versions, lifecycle and custody backends."""

    name = "keys"
    verbose_name = "Keys"

    def ready(self) -> None:
        from keys.approvables import register_all

        register_all()

        from cockpit import readcache
        from keys.models import CustomerNode, Key, KeyVersion

        readcache.watch(Key, KeyVersion, CustomerNode)

        from cockpit import groupcommit
        from keys.usage import GROUP_COMMIT_KIND, write_tallies

        groupcommit.register(GROUP_COMMIT_KIND, write_tallies)
