"""Keys pages, mounted under /t/<slug>/keys/."""

from django.urls import path

from keys import views

app_name = "keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new", views.key_create, name="create"),
    path("customer-nodes", views.customer_nodes, name="customer-nodes"),
    path("<uuid:key_id>/", views.key_detail, name="detail"),
    path("<uuid:key_id>/state", views.key_state_fragment, name="state"),
    path("<uuid:key_id>/rotate", views.key_rotate, name="rotate"),
    path("<uuid:key_id>/disable", views.key_disable, name="disable"),
    path("<uuid:key_id>/enable", views.key_enable, name="enable"),
    path("<uuid:key_id>/schedule-deletion", views.key_schedule_deletion, name="schedule-deletion"),
    path("<uuid:key_id>/cancel-deletion", views.key_cancel_deletion, name="cancel-deletion"),
]
