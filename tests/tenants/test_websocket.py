"""The tenant event socket: authorised in connect(), per-tenant and per-role groups, no cross-tenant leaks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from cockpit.asgi import application
from tenants.realtime import publish
from testkit import World, verified_client

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(client: Client | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if client is not None:
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


async def _connect(slug: str, client: Client | None) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = WebsocketCommunicator(application, f"/ws/t/{slug}/events/", headers=_headers(client))
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


def test_anonymous_socket_is_refused(world: World) -> None:
    async def scenario() -> None:
        communicator, connected, code = await _connect(world.tenant_a.slug, None)
        assert not connected and code == 4401

    async_to_sync(scenario)()


def test_password_only_session_is_refused(world: World) -> None:
    client = Client()
    client.force_login(world.officer_a)

    async def scenario() -> None:
        communicator, connected, code = await _connect(world.tenant_a.slug, client)
        assert not connected and code == 4401

    async_to_sync(scenario)()


def test_other_tenants_socket_is_refused_as_not_found(world: World) -> None:
    client = verified_client(world.officer_a)

    async def scenario() -> None:
        communicator, connected, code = await _connect(world.tenant_b.slug, client)
        assert not connected and code == 4404

    async_to_sync(scenario)()


def test_officer_group_gets_the_event_and_others_do_not(world: World) -> None:
    officer, auditor, outsider = (
        verified_client(u) for u in (world.officer_a, world.auditor_a, world.admin_b)
    )

    async def scenario() -> None:
        sockets = {}
        for name, client, slug in (
            ("officer", officer, world.tenant_a.slug),
            ("auditor", auditor, world.tenant_a.slug),
            ("outsider", outsider, world.tenant_b.slug),
        ):
            communicator, connected, _ = await _connect(slug, client)
            assert connected
            hello = await communicator.receive_json_from(timeout=5)
            assert hello["event"] == "hello"
            sockets[name] = communicator

        def send() -> None:
            with transaction.atomic():
                publish(
                    tenant_id=world.tenant_a.pk, role="officer", event="approval.requested", data={"id": 7}
                )

        from channels.db import database_sync_to_async

        await database_sync_to_async(send)()
        message = await sockets["officer"].receive_json_from(timeout=5)
        assert message == {"event": "approval.requested", "data": {"id": 7}}
        assert await sockets["auditor"].receive_nothing(timeout=0.5)
        assert await sockets["outsider"].receive_nothing(timeout=0.5)
        for communicator in sockets.values():
            await communicator.disconnect()

    async_to_sync(scenario)()


def test_events_are_sent_only_after_commit(world: World) -> None:
    client = verified_client(world.officer_a)

    async def scenario() -> None:
        communicator, connected, _ = await _connect(world.tenant_a.slug, client)
        assert connected
        await communicator.receive_json_from(timeout=5)

        def rolled_back() -> None:
            try:
                with transaction.atomic():
                    publish(tenant_id=world.tenant_a.pk, event="key.changed", data={"id": 1})
                    raise RuntimeError("abort")
            except RuntimeError:
                pass

        from channels.db import database_sync_to_async

        await database_sync_to_async(rolled_back)()
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    async_to_sync(scenario)()


def test_socket_takes_no_commands(world: World) -> None:
    client = verified_client(world.officer_a)

    async def scenario() -> None:
        communicator, connected, _ = await _connect(world.tenant_a.slug, client)
        await communicator.receive_json_from(timeout=5)
        await communicator.send_json_to({"approve": 1})
        reply = await communicator.receive_json_from(timeout=5)
        assert reply["event"] == "error"
        await communicator.disconnect()
        await asyncio.sleep(0)

    async_to_sync(scenario)()
