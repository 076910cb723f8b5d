"""WSGI entry point: serve HTTP from a WSGI server (gunicorn/granian) in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cockpit.settings")
application = get_wsgi_application()
