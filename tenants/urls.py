"""Tenant pages of this app, mounted under /t/<slug>/."""

from django.urls import path

from tenants.views import pages

app_name = "tenants"

urlpatterns = [
    path("members/", pages.members, name="members"),
    path("members/invite", pages.member_invite, name="member-invite"),
    path("members/<int:user_id>/roles", pages.member_roles, name="member-roles"),
    path("members/<int:user_id>/remove", pages.member_remove, name="member-remove"),
    path("settings/", pages.settings_page, name="settings"),
    path("settings/backup-codes", pages.backup_codes_new, name="backup-codes"),
    path("settings/service-accounts", pages.service_account_new, name="service-account-new"),
    path("settings/service-accounts/<int:account_id>/tokens", pages.token_new, name="token-new"),
    path("settings/tokens/<int:token_id>/revoke", pages.token_revoke, name="token-revoke"),
]
