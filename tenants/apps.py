from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Organisations, memberships, service accounts, sign-in and OTP."""

    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from tenants import signals  # noqa: F401  (connects auth signal receivers)
        from tenants.api import schema  # noqa: F401  (registers OpenAPI auth extensions)
        from tenants.approvables import register_all

        register_all()

        from cockpit import readcache
        from tenants.models import ApiToken, ServiceAccount, Tenant

        readcache.watch(ApiToken, ServiceAccount, Tenant)
