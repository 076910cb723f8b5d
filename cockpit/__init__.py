"""Cockpit project package: settings, URLs, ASGI/WSGI entry points, the Celery app and shared plumbing."""

from cockpit.celery import app as celery_app

__all__ = ["celery_app"]
