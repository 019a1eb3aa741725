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
HOST = (b"host", b"localhost")


@database_sync_to_async
def session_cookie_for(user):
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def connect(cookie=None, origin=ORIGIN, host=HOST, extra=()):
    headers = [header for header in (origin, host) if header] + list(extra)
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, "/ws/balance/", headers=headers)
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_it_refuses_the_anonymous_with_4401():
    communicator, connected, _ = await connect()

    assert connected  # accepted, so that the close code reaches the browser
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4401}


@pytest.mark.parametrize(
    "origin",
    [
        b"https://evil.example",
        b"http://localhost:9999",  # another port
        b"https://localhost",  # another scheme: the page was not served over TLS
        b"http://localhost.evil.example",
        b"null",
        b"http://localhost/dashboard/",
        None,
    ],
)
async def test_it_refuses_a_foreign_origin(alice, origin):
    cookie = await session_cookie_for(alice)

    _, connected, _ = await connect(cookie, origin=origin and (b"origin", origin))

    assert not connected


@pytest.mark.parametrize(
    "host, origin",
    [
        (b"localhost", b"http://localhost"),
        (b"localhost:8000", b"http://localhost:8000"),
        (b"LOCALHOST:80", b"http://localhost"),
        (b"127.0.0.1:8000", b"http://127.0.0.1:8000"),
        (b"[::1]:8000", b"http://[::1]:8000"),
    ],
)
async def test_it_accepts_the_sites_own_origin(alice, host, origin):
    cookie = await session_cookie_for(alice)

    ws, connected, _ = await connect(cookie, origin=(b"origin", origin), host=(b"host", host))

    assert connected
    await ws.disconnect()


async def test_it_refuses_a_host_the_site_does_not_serve(alice):
    cookie = await session_cookie_for(alice)

    _, connected, _ = await connect(
        cookie, origin=(b"origin", b"http://evil.example"), host=(b"host", b"evil.example")
    )

    assert not connected


async def test_behind_the_tls_proxy_the_origin_is_https(alice, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    cookie = await session_cookie_for(alice)
    proxied = [(b"x-forwarded-proto", b"https")]

    ws, tls, _ = await connect(cookie, origin=(b"origin", b"https://localhost"), extra=proxied)
    _, plain, _ = await connect(cookie, origin=(b"origin", b"http://localhost"), extra=proxied)

    assert tls and not plain
    await ws.disconnect()


@pytest.mark.parametrize(
    "trusted, origin, allowed",
    [
        ("https://app.example.org", b"https://app.example.org", True),
        ("https://app.example.org", b"http://app.example.org", False),
        ("https://app.example.org", b"https://app.example.org:8443", False),
        ("https://*.example.org", b"https://eu.example.org", True),
        ("https://*.example.org", b"https://example.org.evil.example", False),
    ],
)
async def test_csrf_trusted_origins_are_trusted_exactly(alice, settings, trusted, origin, allowed):
    settings.CSRF_TRUSTED_ORIGINS = [trusted]
    cookie = await session_cookie_for(alice)

    ws, connected, _ = await connect(cookie, origin=(b"origin", origin))

    assert connected is allowed
    if connected:
        await ws.disconnect()


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


@database_sync_to_async
def signed_in(user):
    """A browser signed in as `user` (a session of its own) and its session cookie."""
    client = Client()
    client.force_login(user)
    return (
        client,
        f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
    )


async def test_signing_out_closes_that_sessions_sockets_and_no_other(alice, bob):
    (laptop, laptop_cookie), (_, phone_cookie), (_, bob_cookie) = [
        await signed_in(user) for user in (alice, alice, bob)
    ]
    laptop_ws, _, _ = await connect(laptop_cookie)
    phone_ws, _, _ = await connect(phone_cookie)
    bob_ws, _, _ = await connect(bob_cookie)

    response = await sync_to_async(laptop.post)("/accounts/logout/")

    assert response.status_code == 302
    assert await laptop_ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await phone_ws.receive_nothing(timeout=0.5)
    assert await bob_ws.receive_nothing(timeout=0.1)
    await asyncio.gather(phone_ws.disconnect(), bob_ws.disconnect())


async def test_changing_the_password_closes_the_other_sessions_sockets(alice):
    (laptop, laptop_cookie), (_, phone_cookie) = [await signed_in(alice) for _ in range(2)]
    laptop_ws, _, _ = await connect(laptop_cookie)
    phone_ws, _, _ = await connect(phone_cookie)
    new = "a-new-and-longer-passphrase-7"

    response = await sync_to_async(laptop.post)(
        "/accounts/password_change/",
        {"old_password": "alice-password-1", "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    assert await phone_ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    # The session that changed the password stays signed in, and its socket open.
    await get_channel_layer().group_send(
        household_group(alice.pk), {"type": "balance.update", "payload": {"balance": "1.000000"}}
    )
    assert await laptop_ws.receive_json_from(timeout=5) == {"balance": "1.000000"}
    await laptop_ws.disconnect()
