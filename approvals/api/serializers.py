"""Input and output shapes of the approvals API."""

from __future__ import annotations

from rest_framework import serializers

from approvals.models import Approval, ApprovalRequest, QuorumPolicy


class DecisionOut(serializers.ModelSerializer):
    officer = serializers.CharField(source="officer.username")

    class Meta:
        model = Approval
        fields = ["officer", "decision", "digest", "created_at"]


class ApprovalRequestOut(serializers.ModelSerializer):
    approvals = serializers.SerializerMethodField()
    decisions = DecisionOut(many=True)

    class Meta:
        model = ApprovalRequest
        fields = [
            "id", "operation", "operation_class", "params", "digest", "summary", "target_type",
            "target_id", "target_label", "requested_by_label", "state", "required_approvals", "approvals",
            "time_lock_minutes", "created_at", "expires_at", "approved_at", "executable_after",
            "finished_at", "outcome", "decisions",
        ]  # fmt: skip

    def get_approvals(self, request: ApprovalRequest) -> int:
        return sum(1 for d in request.decisions.all() if d.decision == "approve")


class RequestIn(serializers.Serializer):
    operation = serializers.CharField(max_length=60)
    params = serializers.DictField(child=serializers.JSONField(), allow_empty=True)


class ApproveIn(serializers.Serializer):
    otp = serializers.RegexField(
        r"^\s*\d{6,8}\s*$", help_text="The current code from your authenticator app."
    )


class RejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class PolicyOut(serializers.ModelSerializer):
    class Meta:
        model = QuorumPolicy
        fields = [
            "operation_class",
            "scope_type",
            "scope_id",
            "required_approvals",
            "window_hours",
            "time_lock_minutes",
        ]
