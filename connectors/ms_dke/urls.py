"""DKE routes, mounted under ``/dke/`` (``setup_info`` and ``keyformat.key_id`` build URLs with that prefix).

A route may contain slashes, so it is matched greedily and the key name and version are the last
segments. ``decrypt`` is matched case-insensitively, as ASP.NET routing does for the reference service:
the client appends ``/decrypt`` to the ``kid``, the reference template says ``Decrypt``.
"""

from django.urls import re_path

from connectors.ms_dke import views

app_name = "ms_dke"

urlpatterns = [
    re_path(
        r"^(?P<route>.+)/(?P<key_name>[^/]+)/(?P<version>[^/]+)/[Dd][Ee][Cc][Rr][Yy][Pp][Tt]$",
        views.decrypt,
        name="decrypt",
    ),
    re_path(r"^(?P<route>.+)/(?P<key_name>[^/]+)$", views.public_key, name="key"),
]
