"""Keys and their versions. The control plane stores handles and public keys, never key material."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from cockpit.readcache import WatchedQuerySet
from keys.backends import KeySpec


class KeyState(models.TextChoices):
    CREATING = "creating", "Creating"
    ENABLED = "enabled", "Enabled"
    DISABLED = "disabled", "Disabled"
    PENDING_DELETION = "pending_deletion", "Pending deletion"
    DESTROYED = "destroyed", "Destroyed"
    FAILED = "failed", "Failed"


class KeyUsage(models.TextChoices):
    ENCRYPT_DECRYPT = "ENCRYPT_DECRYPT", "Encrypt / decrypt"
    SIGN_VERIFY = "SIGN_VERIFY", "Sign / verify"
    WRAP_UNWRAP = "WRAP_UNWRAP", "Wrap / unwrap keys"


class Custody(models.TextChoices):
    PKCS11 = "pkcs11", "HSM (PKCS#11)"
    MPC = "mpc", "MPC (threshold, no whole key anywhere)"
    SOFTWARE = "software", "software (not HSM)"


KeySpecChoices = models.TextChoices("KeySpecChoices", [(s.value, s.value) for s in KeySpec])  # type: ignore[call-overload]  # Enum functional API; stubs type only (value, label)


class CustomerNode(models.Model):
    """An MPC node the tenant runs itself: keys that require it cannot be used while it is down or refuses."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="customer_nodes")
    name = models.CharField(max_length=80)
    url = models.URLField(max_length=300)
    identity_public_key = models.CharField(
        max_length=64, help_text="Ed25519 public key (hex) the node signs with."
    )
    x25519_public_key = models.CharField(
        max_length=64, help_text="X25519 public key (hex) for sealed messages."
    )
    enrolled_at = models.DateTimeField(default=timezone.now)
    enrolled_by = models.CharField(max_length=200, blank=True)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="customer_node_unique_name")]

    def __str__(self) -> str:
        return self.name


class Key(models.Model):
    """A tenant's named key: spec and usage fixed at creation, state, rotation and deletion schedule."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="keys")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    spec = models.CharField(max_length=16, choices=KeySpecChoices.choices)
    usage = models.CharField(max_length=16, choices=KeyUsage.choices)
    custody = models.CharField(max_length=16, choices=Custody.choices)
    state = models.CharField(max_length=20, choices=KeyState.choices, default=KeyState.CREATING)
    status_detail = models.CharField(max_length=300, blank=True)
    customer_node = models.ForeignKey(
        CustomerNode, on_delete=models.PROTECT, null=True, blank=True, related_name="keys",
        help_text="MPC keys only: the tenant's own node that must take part in every use.",
    )  # fmt: skip
    rotation_period_days = models.PositiveIntegerField(null=True, blank=True)
    next_rotation_at = models.DateTimeField(null=True, blank=True)
    deletion_date = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="key_unique_name_per_tenant")]
        indexes = [
            models.Index(fields=["state", "deletion_date"]),
            models.Index(fields=["state", "next_rotation_at"]),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_usable(self) -> bool:
        return self.state == KeyState.ENABLED

    @property
    def custody_label(self) -> str:
        return Custody(self.custody).label


class VersionState(models.TextChoices):
    PENDING = "pending", "Pending"
    GENERATING = "generating", "Generating"
    ACTIVE = "active", "Active"
    FAILED = "failed", "Failed"
    DESTROYED = "destroyed", "Destroyed"


class KeyVersion(models.Model):
    """One generation of a key's material, held by the custody backend under ``handle``."""

    key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=12, choices=VersionState.choices, default=VersionState.PENDING)
    handle = models.CharField(max_length=120, blank=True)
    public_key_der = models.BinaryField(null=True, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["key", "number"], name="key_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.key.name} v{self.number}"


class KeyStateChange(models.Model):
    """The state history shown on the key page (the audit log is the authoritative record)."""

    key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor_label = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.key_id}: {self.from_state} → {self.to_state}"


class KeyOperationCount(models.Model):
    """Operations per key, channel (api or a connector) and day: shown to tenants and fed to billing."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    key = models.ForeignKey(Key, on_delete=models.CASCADE, related_name="operation_counts")
    day = models.DateField()
    channel = models.CharField(max_length=80)
    operation = models.CharField(max_length=24)
    succeeded = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "day", "channel", "operation"], name="key_op_count_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_id} {self.day} {self.channel} {self.operation}"
