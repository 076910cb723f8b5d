"""Approvals API: list, detail, request, approve (with otp), reject; service accounts never approve."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import services
from approvals.api import serializers as s
from approvals.models import ApprovalRequest
from approvals.selectors import policies_of, request_of, requests_of
from cockpit.errors import InputTooLarge
from tenants.api.base import TenantAPIView

MAX_PARAMS_BYTES = 4096


def render(request: ApprovalRequest, status: int = 200) -> Response:
    """The one representation of a request, also used by other apps' endpoints that file one."""
    return Response({"approval_request": s.ApprovalRequestOut(request).data}, status=status)


class RequestList(TenantAPIView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str, description="pending, approved, done, rejected, ...")],
        responses=s.ApprovalRequestOut(many=True),
        summary="Approval requests, newest first",
    )
    def get(self, request: Request) -> Response:
        state = request.query_params.get("state") or None
        return Response(
            s.ApprovalRequestOut(requests_of(tenant=self.tenant, state=state)[:200], many=True).data
        )

    @extend_schema(
        request=s.RequestIn, responses={202: s.ApprovalRequestOut}, summary="Request an approvable operation"
    )
    def post(self, request: Request) -> Response:
        body = s.RequestIn(data=request.data)
        body.is_valid(raise_exception=True)
        params = body.validated_data["params"]
        if len(json.dumps(params)) > MAX_PARAMS_BYTES:
            raise InputTooLarge(f"params are larger than {MAX_PARAMS_BYTES} bytes.")
        filed = services.request_create(
            actor=self.actor, tenant=self.tenant, operation=body.validated_data["operation"], params=params
        )
        return render(filed, status=202)


class RequestDetail(TenantAPIView):
    @extend_schema(responses=s.ApprovalRequestOut, summary="One approval request")
    def get(self, request: Request, request_id: str) -> Response:
        return Response(s.ApprovalRequestOut(request_of(tenant=self.tenant, request_id=request_id)).data)


class RequestApprove(TenantAPIView):
    allow_service_accounts = False

    @extend_schema(
        request=s.ApproveIn, responses=s.ApprovalRequestOut, summary="Approve with a fresh TOTP code"
    )
    def post(self, request: Request, request_id: str) -> Response:
        target = request_of(tenant=self.tenant, request_id=request_id)
        body = s.ApproveIn(data=request.data)
        body.is_valid(raise_exception=True)
        services.request_approve(actor=self.actor, request=target, otp=body.validated_data["otp"])
        return Response(s.ApprovalRequestOut(request_of(tenant=self.tenant, request_id=request_id)).data)


class RequestReject(TenantAPIView):
    allow_service_accounts = False

    @extend_schema(
        request=s.RejectIn, responses=s.ApprovalRequestOut, summary="Reject, or veto during a time-lock"
    )
    def post(self, request: Request, request_id: str) -> Response:
        target = request_of(tenant=self.tenant, request_id=request_id)
        body = s.RejectIn(data=request.data)
        body.is_valid(raise_exception=True)
        done = services.request_reject(actor=self.actor, request=target, reason=body.validated_data["reason"])
        return Response(s.ApprovalRequestOut(done).data)


class PolicyList(TenantAPIView):
    @extend_schema(
        responses=s.PolicyOut(many=True), summary="Explicit quorum policies (others use 2 of N, 24 h)"
    )
    def get(self, request: Request) -> Response:
        return Response(s.PolicyOut(policies_of(tenant=self.tenant), many=True).data)
