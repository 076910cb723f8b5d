"""Quorum policies, approval requests and the officers' decisions on them."""

from __future__ import annotations

import json
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class QuorumPolicy(models.Model):
    """How many distinct officers must approve an operation class, within what window, after what delay.

    A row without ``scope_id`` is the tenant's policy; a row with one (e.g. a key id) is a stricter policy
    for that object: the effective rule takes the stricter value of each field.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="quorum_policies")
    operation_class = models.CharField(max_length=60)
    scope_type = models.CharField(max_length=60, blank=True)
    scope_id = models.CharField(max_length=64, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=2)
    window_hours = models.PositiveIntegerField(default=24)
    time_lock_minutes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "operation_class", "scope_type", "scope_id"],
                name="quorum_policy_unique_scope",
            ),
        ]

    def __str__(self) -> str:
        scope = f" on {self.scope_type}:{self.scope_id}" if self.scope_id else ""
        return f"{self.operation_class}{scope}: {self.required_approvals} approvals"


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    TIME_LOCKED = "time_locked", "Time-locked"
    EXECUTING = "executing", "Executing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


OPEN_STATES = (RequestState.PENDING, RequestState.APPROVED, RequestState.TIME_LOCKED, RequestState.EXECUTING)


class ApprovalRequest(models.Model):
    """A loosening operation waiting for its quorum; what officers approve is exactly what runs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="approval_requests")
    operation = models.CharField(max_length=60)
    operation_class = models.CharField(max_length=60)
    params = models.JSONField()
    digest = models.CharField(max_length=64)
    summary = models.CharField(max_length=300)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_by_label = models.CharField(max_length=200)
    state = models.CharField(max_length=12, choices=RequestState.choices, default=RequestState.PENDING)
    required_approvals = models.PositiveSmallIntegerField()
    time_lock_minutes = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    executable_after = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "state"]),
            models.Index(fields=["state", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.operation} ({self.state})"

    @property
    def short_digest(self) -> str:
        return self.digest[:16]

    @property
    def params_display(self) -> str:
        """The canonical parameters as the digest covers them."""
        return json.dumps(self.params, sort_keys=True)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class Approval(models.Model):
    """One officer's decision on one request, with the digest they saw; each officer counts once."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "officer"], name="approval_one_per_officer")
        ]

    def __str__(self) -> str:
        return f"{self.officer} {self.decision} {self.request_id}"
