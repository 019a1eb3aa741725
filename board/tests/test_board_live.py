"""The board's live socket over the real Redis channel layer: who may listen, what it hears."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from board import live
from board.tasks import board_update
from celc.asgi import application
from devices.ingest import store_ticks
from devices.protocol import Tick
from devtools.testing import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


cookie_for = database_sync_to_async(session_cookie)


async def open_board(cookie=None):
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    ws = WebsocketCommunicator(application, "/ws/board/", headers=headers)
    connected, _ = await ws.connect()
    assert connected  # accepted, so that a refusal's close code reaches the page
    return ws


async def test_signed_out_and_households_are_refused(alice):
    anonymous = await open_board()
    assert await anonymous.receive_output() == {"type": "websocket.close", "code": 4401}
    household = await open_board(await cookie_for(alice))
    assert await household.receive_output() == {"type": "websocket.close", "code": 4403}


@pytest.mark.parametrize("origin", [b"http://localhost:9999", b"https://localhost"])
async def test_a_page_of_another_origin_is_refused(board_staff, origin):
    headers = [(b"origin", origin), (b"host", b"localhost")]
    headers.append((b"cookie", (await cookie_for(board_staff)).encode()))
    ws = WebsocketCommunicator(application, "/ws/board/", headers=headers)

    connected, _ = await ws.connect()

    assert not connected


async def test_board_staff_hear_each_update(board_staff):
    ws = await open_board(await cookie_for(board_staff))
    await asyncio.sleep(0.2)  # the group subscription reaches Redis

    await sync_to_async(live.send_update)({"type": "areas", "areas": [], "paying_now": "0"})

    assert await ws.receive_json_from(timeout=5) == {
        "type": "areas",
        "areas": [],
        "paying_now": "0",
    }
    # A board page is open now: the beat task works the figures out and sends them.
    assert await sync_to_async(board_update)() == 0
    assert (await ws.receive_json_from(timeout=5))["areas"] == []
    await ws.disconnect()


def test_the_task_sends_the_areas_out_now(alice, register_device):
    meter, _ = register_device(alice, area_code="TN-CHN-042")
    now = timezone.now()
    ticks = [Tick(seq=i + 1, ts=now - timedelta(seconds=60 - i), power="off") for i in range(61)]
    store_ticks({meter.pk: ticks}, received_at=now)

    payload = live.live_payload(timezone.now())

    (area,) = payload["areas"]
    assert (area["code"], area["off"], area["devices"]) == ("TN-CHN-042", 1, 1)
    assert area["since"] == (now - timedelta(seconds=60)).isoformat()
    assert float(area["rate_per_second"]) > 0 and payload["paying_now"] == area["rate_per_second"]
    assert board_update() is None  # nobody has the board open: nothing worked out or sent


@database_sync_to_async
def signed_in(user):
    """A browser signed in as `user` (a session of its own) and its session cookie."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return (
        client,
        f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}",
    )


async def test_signing_out_closes_that_sessions_board_sockets_and_no_other(board_staff):
    (laptop, laptop_cookie), (_, phone_cookie) = [await signed_in(board_staff) for _ in range(2)]
    laptop_ws = await open_board(laptop_cookie)
    phone_ws = await open_board(phone_cookie)
    await asyncio.sleep(0.2)  # the group subscriptions reach Redis

    response = await sync_to_async(laptop.post)("/accounts/logout/")

    assert response.status_code == 302
    assert await laptop_ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await phone_ws.receive_nothing(timeout=0.5)
    await phone_ws.disconnect()


async def test_changing_the_password_closes_the_other_sessions_board_sockets(board_staff):
    (laptop, laptop_cookie), (_, phone_cookie) = [await signed_in(board_staff) for _ in range(2)]
    laptop_ws = await open_board(laptop_cookie)
    phone_ws = await open_board(phone_cookie)
    await asyncio.sleep(0.2)
    new = "a-new-and-longer-passphrase-7"

    response = await sync_to_async(laptop.post)(
        "/accounts/password_change/",
        {"old_password": "board-password-1", "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    assert await phone_ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    # The session that changed the password stays signed in, and its board open.
    await sync_to_async(live.send_update)({"type": "areas", "areas": [], "paying_now": "0"})
    assert (await laptop_ws.receive_json_from(timeout=5))["type"] == "areas"
    await laptop_ws.disconnect()
