from django.urls import path

from connectors.api import views

urlpatterns = [
    path("connectors", views.BindingList.as_view(), name="connectors"),
    path("connectors/<str:binding_id>", views.BindingDetail.as_view(), name="connector"),
    path("connectors/<str:binding_id>/disable", views.BindingDisable.as_view(), name="connector-disable"),
    path("connectors/<str:binding_id>/enable", views.BindingEnable.as_view(), name="connector-enable"),
    path("connectors/<str:binding_id>/keys", views.BindingWiden.as_view(), name="connector-widen"),
    path(
        "connectors/<str:binding_id>/credentials",
        views.CredentialIssue.as_view(),
        name="connector-credentials",
    ),
    path(
        "connectors/<str:binding_id>/credentials/<str:access_key_id>/reveal",
        views.CredentialReveal.as_view(),
        name="connector-credential-reveal",
    ),
    path(
        "connectors/<str:binding_id>/credentials/<str:access_key_id>/revoke",
        views.CredentialRevoke.as_view(),
        name="connector-credential-revoke",
    ),
]
