"""Approvals pages, mounted under /t/<slug>/approvals/."""

from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.approval_list, name="list"),
    path("lists", views.approval_list_partial, name="lists"),
    path("policies", views.policy_page, name="policies"),
    path("<uuid:request_id>/", views.approval_detail, name="detail"),
    path("<uuid:request_id>/approve", views.approval_approve, name="approve"),
    path("<uuid:request_id>/reject", views.approval_reject, name="reject"),
]
