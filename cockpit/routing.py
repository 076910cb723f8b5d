"""WebSocket routes. Each app's consumers are listed here; authorisation happens in ``connect()``."""

from django.urls import path

from tenants.consumers import TenantEventsConsumer

websocket_urlpatterns = [
    path("ws/t/<slug:tenant_slug>/events/", TenantEventsConsumer.as_asgi()),
]
