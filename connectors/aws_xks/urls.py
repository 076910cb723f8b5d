"""XKS proxy URLs, to be mounted at the site root: ``[/<prefix>]/kms/xks/v1/...``.

The prefix may contain slashes; the greedy ``(?P<prefix>.+)`` takes everything before the last
``/kms/xks/v1/`` (an external key id has no slash, so the remainder cannot contain another one). Anything
else under a ``kms/xks/v1`` path answers 404 ``InvalidUriPathException``; other paths are left alone.
"""

from django.urls import re_path

from connectors.aws_xks import views

app_name = "aws_xks"

urlpatterns = [
    re_path(r"^(?P<prefix>.+)/kms/xks/v1/health$", views.get_health_status, name="health"),
    re_path(
        r"^(?P<prefix>.+)/kms/xks/v1/keys/(?P<external_id>[^/]+)/(?P<action>metadata|encrypt|decrypt)$",
        views.key_operation,
        name="key-operation",
    ),
    re_path(r"^(?:.*/)?kms/xks/v1(?:/.*)?$", views.invalid_path, name="invalid-path"),
]
