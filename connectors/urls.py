"""Connectors pages, mounted under /t/<slug>/connectors/."""

from django.urls import path

from connectors import views

app_name = "connectors"

urlpatterns = [
    path("", views.binding_list, name="list"),
    path("new", views.binding_create, name="create"),
    path("<uuid:binding_id>/", views.binding_detail, name="detail"),
    path("<uuid:binding_id>/disable", views.binding_disable, name="disable"),
    path("<uuid:binding_id>/enable", views.binding_enable, name="enable"),
    path("<uuid:binding_id>/credentials", views.credential_issue, name="credential-issue"),
    path(
        "<uuid:binding_id>/credentials/<str:access_key_id>/reveal",
        views.credential_reveal,
        name="credential-reveal",
    ),
    path(
        "<uuid:binding_id>/credentials/<str:access_key_id>/revoke",
        views.credential_revoke,
        name="credential-revoke",
    ),
]
