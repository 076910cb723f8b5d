"""Live prompts over the tenant socket: officers get the prompt; other roles and tenants do not."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from approvals import services
from cockpit.asgi import application
from testkit import World, approve_all, make_key, verified_client

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("custody")]


async def _open(slug: str, client: Client) -> WebsocketCommunicator:
    headers = [
        (b"origin", b"http://testserver"),
        (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
    ]
    communicator = WebsocketCommunicator(application, f"/ws/t/{slug}/events/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["event"] == "hello"
    return communicator


async def _events(communicator: WebsocketCommunicator) -> list[dict[str, Any]]:
    received = []
    while not await communicator.receive_nothing(timeout=0.5):
        received.append(await communicator.receive_json_from(timeout=5))
    return received


def test_officers_get_the_prompt_and_everyone_sees_the_outcome(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    clients = {
        n: verified_client(u)
        for n, u in (("officer", world.officer_a), ("auditor", world.auditor_a), ("outsider", world.admin_b))
    }

    async def scenario() -> None:
        officer = await _open(world.tenant_a.slug, clients["officer"])
        auditor = await _open(world.tenant_a.slug, clients["auditor"])
        outsider = await _open(world.tenant_b.slug, clients["outsider"])

        filed = await database_sync_to_async(services.request_create)(
            actor=world.admin_a,
            tenant=world.tenant_a,
            operation="keys.rotate",
            params={"key_id": str(key.pk)},
        )
        officer_events = await _events(officer)
        auditor_events = await _events(auditor)
        assert [e["event"] for e in officer_events] == ["approval.requested", "approval.changed"]
        prompt = officer_events[0]["data"]
        assert (
            prompt["id"] == str(filed.pk)
            and prompt["pending_approvals"] == 1
            and "asks for approval" in prompt["prompt"]
        )
        assert [e["event"] for e in auditor_events] == ["approval.changed"]
        assert "prompt" not in auditor_events[0]["data"]
        assert await outsider.receive_nothing(timeout=0.5)

        await database_sync_to_async(approve_all)(filed, world.officer_a, world.officer2_a)
        final = (await _events(auditor))[-1]["data"]
        assert final["state"] == "done" and final["pending_approvals"] == 0
        assert await outsider.receive_nothing(timeout=0.5)
        for socket in (officer, auditor, outsider):
            await socket.disconnect()

    async_to_sync(scenario)()
