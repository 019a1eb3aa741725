"""The household WebSocket over the real Redis channel layer."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.broadcast import household_group, send_heartbeat
from celc.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")


@database_sync_to_async
def session_cookie_for(user):
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def connect(cookie=None, origin=ORIGIN):
    headers = [origin] if origin else []
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, "/ws/balance/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_it_refuses_the_anonymous_with_4401():
    communicator, connected, _ = await connect()

    assert connected  # accepted, so that the close code reaches the browser
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}


async def test_it_refuses_a_foreign_origin(alice):
    cookie = await session_cookie_for(alice)

    _, connected, _ = await connect(cookie, origin=(b"origin", b"https://evil.example"))

    assert not connected


async def test_a_household_gets_its_own_updates_and_never_another_households(alice, bob):
    alice_ws, alice_ok, _ = await connect(await session_cookie_for(alice))
    bob_ws, bob_ok, _ = await connect(await session_cookie_for(bob))
    assert alice_ok and bob_ok
    layer = get_channel_layer()

    await layer.group_send(
        household_group(alice.pk), {"type": "balance.update", "payload": {"balance": "1.500000"}}
    )

    assert await alice_ws.receive_json_from(timeout=5) == {"balance": "1.500000"}
    assert await bob_ws.receive_nothing(timeout=0.5)

    await layer.group_send(
        household_group(bob.pk), {"type": "balance.update", "payload": {"balance": "2.000000"}}
    )

    assert await bob_ws.receive_json_from(timeout=5) == {"balance": "2.000000"}
    assert await alice_ws.receive_nothing(timeout=0.5)
    await asyncio.gather(alice_ws.disconnect(), bob_ws.disconnect())


async def test_every_open_dashboard_hears_the_heartbeat(alice, bob):
    alice_ws, _, _ = await connect(await session_cookie_for(alice))
    bob_ws, _, _ = await connect(await session_cookie_for(bob))

    await sync_to_async(send_heartbeat)("2026-11-28T01:00:00+00:00")

    for ws in (alice_ws, bob_ws):
        assert await ws.receive_json_from(timeout=5) == {
            "type": "alive",
            "at": "2026-11-28T01:00:00+00:00",
        }
    await asyncio.gather(alice_ws.disconnect(), bob_ws.disconnect())
