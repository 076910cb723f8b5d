from django.urls import path

from tenants.api import views

urlpatterns = [
    path("tenant", views.TenantDetail.as_view(), name="tenant"),
    path("members", views.MemberList.as_view(), name="members"),
    path("members/<int:user_id>", views.MemberDetail.as_view(), name="member"),
    path("members/<int:user_id>/roles", views.MemberRoles.as_view(), name="member-roles"),
    path("service-accounts", views.ServiceAccountList.as_view(), name="service-accounts"),
    path("service-accounts/<int:account_id>/tokens", views.TokenIssue.as_view(), name="token-issue"),
    path("tokens", views.TokenList.as_view(), name="tokens"),
    path("tokens/<int:token_id>/revoke", views.TokenRevoke.as_view(), name="token-revoke"),
]
