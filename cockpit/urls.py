"""URL map: accounts, tenant pages under /t/<slug>/, the tenant API under /api/v1/, health, admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cockpit import views
from tenants.views.pages import home

tenant_patterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("audit/", views.audit_log, name="audit"),
    path("keys/", include("keys.urls")),
    path("approvals/", include("approvals.urls")),
    path("connectors/", include("connectors.urls")),
    *[path(f"{section}/", views.section_placeholder(section), name=section) for section in views.SECTIONS],
    path("", include("tenants.urls")),
]

urlpatterns = [
    # Provider-facing endpoints, in each platform's own wire format: first, as they take the most calls
    # (the XKS patterns match only paths containing kms/xks/v1).
    path("dke/", include("connectors.ms_dke.urls")),
    path("", include("connectors.aws_xks.urls")),
    path("", home, name="home"),
    path("accounts/", include("tenants.urls_accounts")),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
    path("api/v1/", include("cockpit.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("operator/", admin.site.urls),
]
