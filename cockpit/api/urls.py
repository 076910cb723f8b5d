from django.urls import include, path

from cockpit.api import views

app_name = "api"

urlpatterns = [
    path("", views.ApiIndex.as_view(), name="index"),
    path("audit/events", views.AuditEventList.as_view(), name="audit-events"),
    path("", include("tenants.api.urls")),
    path("", include("keys.api.urls")),
    path("", include("approvals.api.urls")),
    path("", include("connectors.api.urls")),
]
