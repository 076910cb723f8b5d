"""Tenants, memberships with roles, invitations, service accounts and their API tokens."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from cockpit.readcache import WatchedQuerySet


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OFFICER = "officer", "Officer (approver)"
    AUDITOR = "auditor", "Auditor"
    BILLING = "billing", "Billing viewer"


class Tenant(models.Model):
    """An organisation whose keys Cockpit manages; the boundary of every query."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """One role held by one user in one tenant; a user's roles in a tenant are their membership rows."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user", "role"], name="membership_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.tenant}"


class Invitation(models.Model):
    """A one-time link that lets a new person join a tenant with the given roles."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    roles = models.JSONField(default=list)
    token_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.tenant}"

    def is_usable(self, now: datetime | None = None) -> bool:
        """Neither accepted, revoked nor expired."""
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


class ServiceAccount(models.Model):
    """A non-human caller of the tenant API (scripts, CI, applications); may request, never approve."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = WatchedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="service_account_unique_name")]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A service account's bearer token, stored as a keyed digest; the raw value is shown once."""

    PREFIX = "ckp"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    service_account = models.ForeignKey(ServiceAccount, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=80)
    token_id = models.CharField(max_length=24, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = WatchedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.PREFIX}_{self.token_id}_… ({self.name})"

    @property
    def display_prefix(self) -> str:
        """The non-secret part of the token, safe to show and log."""
        return f"{self.PREFIX}_{self.token_id}"

    def is_active(self, now: datetime | None = None) -> bool:
        """Not revoked, not expired, and its service account is active."""
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.service_account.is_active
