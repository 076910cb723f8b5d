"""Connectors API: list, request, detail, disable (at once), enable and widen (approved), credentials."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.serializers import ApprovalRequestOut
from approvals.api.views import render as render_request
from approvals.services import request_create
from cockpit.api.validation import validated
from cockpit.errors import NotFound
from connectors import services
from connectors.api import serializers as s
from connectors.models import BindingCredential, ConnectorBinding
from connectors.selectors import binding_of, bindings_of
from tenants.api.base import TenantAPIView


def _refs(items: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"key_id": str(i["key_id"]), "external_id": i["external_id"]} for i in items]


class BindingScoped(TenantAPIView):
    def binding(self, binding_id: str) -> ConnectorBinding:
        return binding_of(tenant=self.tenant, binding_id=binding_id)

    def credential(self, binding: ConnectorBinding, access_key_id: str) -> BindingCredential:
        credential = binding.credentials.filter(access_key_id=access_key_id).first()
        if credential is None:
            raise NotFound("No such credential.")
        return credential


class BindingList(TenantAPIView):
    @extend_schema(responses=s.BindingOut(many=True), summary="The tenant's connector bindings")
    def get(self, request: Request) -> Response:
        return Response(s.BindingOut(bindings_of(tenant=self.tenant), many=True).data)

    @extend_schema(
        request=s.BindingIn, responses={202: ApprovalRequestOut}, summary="Request a binding (dual control)"
    )
    def post(self, request: Request) -> Response:
        data = validated(s.BindingIn, request.data)
        params = {**data, "keys": _refs(data["keys"])}
        return render_request(
            request_create(actor=self.actor, tenant=self.tenant, operation="connectors.bind", params=params),
            202,
        )


class BindingDetail(BindingScoped):
    @extend_schema(responses=s.BindingOut, summary="One binding with what to paste into the platform")
    def get(self, request: Request, binding_id: str) -> Response:
        return Response(s.BindingOut(self.binding(binding_id)).data)


class BindingDisable(BindingScoped):
    @extend_schema(request=None, responses=s.BindingOut, summary="Disable at once (kill switch)")
    def post(self, request: Request, binding_id: str) -> Response:
        return Response(
            s.BindingOut(services.binding_disable(actor=self.actor, binding=self.binding(binding_id))).data
        )


class BindingEnable(BindingScoped):
    @extend_schema(
        request=None, responses={202: ApprovalRequestOut}, summary="Request enabling (dual control)"
    )
    def post(self, request: Request, binding_id: str) -> Response:
        binding = self.binding(binding_id)
        filed = request_create(
            actor=self.actor,
            tenant=self.tenant,
            operation="connectors.enable",
            params={"binding_id": str(binding.pk)},
        )
        return render_request(filed, 202)


class BindingWiden(BindingScoped):
    @extend_schema(
        request=s.WidenIn, responses={202: ApprovalRequestOut}, summary="Request more keys (dual control)"
    )
    def post(self, request: Request, binding_id: str) -> Response:
        binding = self.binding(binding_id)
        data = validated(s.WidenIn, request.data)
        params = {"binding_id": str(binding.pk), "keys": _refs(data["keys"])}
        return render_request(
            request_create(actor=self.actor, tenant=self.tenant, operation="connectors.widen", params=params),
            202,
        )


class CredentialIssue(BindingScoped):
    allow_service_accounts = False

    @extend_schema(
        request=None, responses={201: s.CredentialOut}, summary="Issue a second SigV4 credential (rotation)"
    )
    def post(self, request: Request, binding_id: str) -> Response:
        credential = services.credential_issue(actor=self.actor, binding=self.binding(binding_id))
        return Response(s.CredentialOut(credential).data, status=201)


class CredentialReveal(BindingScoped):
    allow_service_accounts = False

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "RevealedSecret",
            {"access_key_id": serializers.CharField(), "secret_access_key": serializers.CharField()},
        ),
        summary="Show the secret access key once",
    )
    def post(self, request: Request, binding_id: str, access_key_id: str) -> Response:
        credential = self.credential(self.binding(binding_id), access_key_id)
        secret = services.credential_reveal(actor=self.actor, credential=credential)
        return Response({"access_key_id": credential.access_key_id, "secret_access_key": secret})


class CredentialRevoke(BindingScoped):
    @extend_schema(request=None, responses=s.CredentialOut, summary="Revoke a credential at once")
    def post(self, request: Request, binding_id: str, access_key_id: str) -> Response:
        credential = self.credential(self.binding(binding_id), access_key_id)
        return Response(
            s.CredentialOut(services.credential_revoke(actor=self.actor, credential=credential)).data
        )
