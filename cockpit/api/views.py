"""API views that span apps: the index and the audit log (audit itself imports no other app)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from audit.models import AuditEvent
from audit.selectors import audit_events_for_tenant
from tenants.api.base import TenantAPIView
from tenants.models import Role
from tenants.selectors import members_of


class ApiIndex(TenantAPIView):
    @extend_schema(
        summary="Links to the API's resources",
        responses=inline_serializer("ApiIndex", {"tenant": serializers.URLField()}),
    )
    def get(self, request: Request) -> Response:
        names = ["tenant", "members", "service-accounts", "tokens", "audit-events", "keys", "approvals"]
        names.append("connectors")
        return Response({name: reverse(f"api:{name}", request=request) for name in names})


class AuditEventOut(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor_type",
            "actor_label",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "outcome",
            "request_id",
            "source_ip",
            "details",
        ]


class AuditEventList(TenantAPIView):
    allow_service_accounts = False
    required_roles = frozenset({Role.ADMIN.value, Role.AUDITOR.value})

    @extend_schema(
        parameters=[OpenApiParameter("action", str, description="Only actions starting with this prefix")],
        responses=AuditEventOut(many=True),
        summary="The tenant's audit events, newest first",
    )
    def get(self, request: Request) -> Response:
        member_ids = [m.user.pk for m in members_of(tenant=self.tenant)]
        events = audit_events_for_tenant(
            tenant_id=self.tenant.pk,
            member_ids=member_ids,
            action_prefix=request.query_params.get("action", "")[:100],
        )
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(events, request, view=self)
        return paginator.get_paginated_response(AuditEventOut(page, many=True).data)
