from django.apps import AppConfig


class CockpitConfig(AppConfig):
    """Project-wide plumbing: request ids, JSON logs, the error contract, health endpoints."""

    name = "cockpit"
    verbose_name = "Cockpit"
