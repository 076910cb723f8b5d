from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans, subscriptions and usage reports."""

    name = "billing"
    verbose_name = "Billing"
