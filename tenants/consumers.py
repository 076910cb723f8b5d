"""The tenant event socket: authorised in ``connect()``, joined to per-tenant and per-role groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from cockpit.errors import NotFound
from tenants.models import Tenant
from tenants.realtime import role_group, tenant_group
from tenants.selectors import roles_of, tenant_for_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404


def _session_is_verified(user: User, session: Any) -> bool:
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and device.confirmed


@database_sync_to_async
def _authorise(scope: dict[str, Any], slug: str) -> tuple[Tenant, frozenset[str]] | int:
    user = scope.get("user")
    if user is None or not user.is_authenticated or not _session_is_verified(user, scope.get("session")):
        return CLOSE_UNAUTHENTICATED
    try:
        tenant = tenant_for_user(user=user, slug=slug)
    except NotFound:
        return CLOSE_NOT_FOUND
    return tenant, roles_of(user=user, tenant=tenant)


class TenantEventsConsumer(AsyncJsonWebsocketConsumer):
    """Pushes tenant events (approval prompts, key state changes) to members' open pages."""

    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        slug = self.scope["url_route"]["kwargs"]["tenant_slug"]
        result = await _authorise(self.scope, slug)
        if isinstance(result, int):
            await self.close(code=result)
            return
        tenant, roles = result
        self.groups_joined = [
            tenant_group(tenant.pk),
            *(role_group(tenant.pk, role) for role in sorted(roles)),
        ]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"event": "hello", "data": {"tenant": tenant.slug, "roles": sorted(roles)}})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The socket is for server pushes; browsers act through HTTP so that CSRF and OTP checks apply.
        await self.send_json({"event": "error", "data": {"message": "This socket does not take commands."}})

    async def tenant_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"event": message["event"], "data": message["data"]})
