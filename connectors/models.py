"""Connector bindings: which platform may use which keys of a tenant, with what credentials and rules."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from cockpit.readcache import WatchedQuerySet


class ConnectorKind(models.TextChoices):
    AWS_XKS = "aws_xks", "AWS KMS External Key Store (XKS)"
    MS_DKE = "ms_dke", "Microsoft 365 Double Key Encryption"


class BindingState(models.TextChoices):
    ENABLED = "enabled", "Enabled"
    DISABLED = "disabled", "Disabled"


class ConnectorBinding(models.Model):
    """One platform connection of one tenant. ``route`` is its public path segment: the tenant boundary."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="connector_bindings")
    kind = models.CharField(max_length=16, choices=ConnectorKind.choices)
    name = models.CharField(max_length=80)
    route = models.CharField(max_length=120, unique=True)
    state = models.CharField(max_length=10, choices=BindingState.choices, default=BindingState.ENABLED)
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="binding_unique_name_per_tenant")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_enabled(self) -> bool:
        return self.state == BindingState.ENABLED


class BindingKey(models.Model):
    """A key the binding may use, under the identifier the platform knows it by."""

    binding = models.ForeignKey(ConnectorBinding, on_delete=models.CASCADE, related_name="bound_keys")
    key = models.ForeignKey("keys.Key", on_delete=models.PROTECT, related_name="bindings")
    external_id = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["binding", "external_id"], name="binding_key_unique_external_id"),
            models.UniqueConstraint(fields=["binding", "key"], name="binding_key_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.binding.name}: {self.external_id}"


class BindingCredential(models.Model):
    """A credential a platform signs with (XKS SigV4 access key). The secret is sealed, shown once."""

    binding = models.ForeignKey(ConnectorBinding, on_delete=models.CASCADE, related_name="credentials")
    access_key_id = models.CharField(max_length=32, unique=True)
    secret_sealed = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    revealed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.access_key_id

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ConnectorCall(models.Model):
    """One provider call's outcome and latency, for the binding page (pruned; the audit log keeps all)."""

    binding = models.ForeignKey(ConnectorBinding, on_delete=models.CASCADE, related_name="calls")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    operation = models.CharField(max_length=40)
    outcome = models.CharField(max_length=60)
    latency_ms = models.FloatField()
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.operation} {self.outcome}"
