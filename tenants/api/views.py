"""Tenant API views: one class per resource or verb, each a thin call into selectors and services."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from tenants.api.base import TenantAPIView
from tenants.api.serializers import (
    IssuedTokenOut,
    MemberOut,
    RolesIn,
    ServiceAccountIn,
    ServiceAccountOut,
    TenantOut,
    TokenIn,
    TokenOut,
)
from tenants.models import Role
from tenants.selectors import (
    api_token_of,
    api_tokens_of,
    member_of,
    members_of,
    service_account_of,
    service_accounts_of,
)
from tenants.services import (
    api_token_issue,
    api_token_revoke,
    membership_remove,
    membership_set_roles,
    service_account_create,
)

ADMIN_ONLY = frozenset({Role.ADMIN.value})


class TenantDetail(TenantAPIView):
    @extend_schema(responses=TenantOut, summary="The tenant the credential acts in, and the caller's roles")
    def get(self, request: Request) -> Response:
        data = {"name": self.tenant.name, "slug": self.tenant.slug, "roles": sorted(self.roles)}
        return Response(TenantOut(data).data)


class MemberList(TenantAPIView):
    @extend_schema(responses=MemberOut(many=True), summary="Members and their roles")
    def get(self, request: Request) -> Response:
        return Response(MemberOut(members_of(tenant=self.tenant), many=True).data)


class MemberDetail(TenantAPIView):
    allow_service_accounts = False

    @extend_schema(responses=MemberOut, summary="One member")
    def get(self, request: Request, user_id: int) -> Response:
        return Response(MemberOut(member_of(tenant=self.tenant, user_id=user_id)).data)

    @extend_schema(request=None, responses={204: None}, summary="Remove a member (admins)")
    def delete(self, request: Request, user_id: int) -> Response:
        member = member_of(tenant=self.tenant, user_id=user_id)
        membership_remove(actor=self.actor, tenant=self.tenant, user=member.user)
        return Response(status=204)


class MemberRoles(TenantAPIView):
    allow_service_accounts = False
    required_roles = ADMIN_ONLY

    @extend_schema(request=RolesIn, responses=MemberOut, summary="Set a member's roles (admins)")
    def put(self, request: Request, user_id: int) -> Response:
        member = member_of(tenant=self.tenant, user_id=user_id)
        body = RolesIn(data=request.data)
        body.is_valid(raise_exception=True)
        filed = membership_set_roles(
            actor=self.actor, tenant=self.tenant, user=member.user, roles=set(body.validated_data["roles"])
        )
        if filed is not None:  # adding admin/officer needs the quorum
            from approvals.api.views import render

            return render(filed, status=202)
        return Response(MemberOut(member_of(tenant=self.tenant, user_id=user_id)).data)


class ServiceAccountList(TenantAPIView):
    allow_service_accounts = False
    required_roles = ADMIN_ONLY

    @extend_schema(responses=ServiceAccountOut(many=True), summary="Service accounts")
    def get(self, request: Request) -> Response:
        return Response(ServiceAccountOut(service_accounts_of(tenant=self.tenant), many=True).data)

    @extend_schema(
        request=ServiceAccountIn, responses={201: ServiceAccountOut}, summary="Create a service account"
    )
    def post(self, request: Request) -> Response:
        body = ServiceAccountIn(data=request.data)
        body.is_valid(raise_exception=True)
        account = service_account_create(actor=self.actor, tenant=self.tenant, **body.validated_data)
        return Response(ServiceAccountOut(account).data, status=201)


class TokenIssue(TenantAPIView):
    allow_service_accounts = False
    required_roles = ADMIN_ONLY

    @extend_schema(request=TokenIn, responses={201: IssuedTokenOut}, summary="Issue a token (shown once)")
    def post(self, request: Request, account_id: int) -> Response:
        account = service_account_of(tenant=self.tenant, pk=account_id)
        body = TokenIn(data=request.data)
        body.is_valid(raise_exception=True)
        token, raw = api_token_issue(actor=self.actor, service_account=account, **body.validated_data)
        return Response(IssuedTokenOut(token, context={"raw": raw}).data, status=201)


class TokenList(TenantAPIView):
    allow_service_accounts = False
    required_roles = ADMIN_ONLY

    @extend_schema(responses=TokenOut(many=True), summary="API tokens (never their secret part)")
    def get(self, request: Request) -> Response:
        return Response(TokenOut(api_tokens_of(tenant=self.tenant), many=True).data)


class TokenRevoke(TenantAPIView):
    allow_service_accounts = False
    required_roles = ADMIN_ONLY

    @extend_schema(request=None, responses=TokenOut, summary="Revoke a token at once")
    def post(self, request: Request, token_id: int) -> Response:
        token = api_token_revoke(actor=self.actor, token=api_token_of(tenant=self.tenant, pk=token_id))
        return Response(TokenOut(token).data)
