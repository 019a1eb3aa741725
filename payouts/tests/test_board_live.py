"""The board's live socket over the real Redis channel layer: who may listen, what it hears."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts.broadcast import send_board_update
from celc.asgi import application
from celc.testing import session_cookie
from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts import board
from payouts.tasks import board_update

pytestmark = pytest.mark.django_db(transaction=True)


cookie_for = database_sync_to_async(session_cookie)


async def open_board(cookie=None):
    headers = [(b"origin", b"http://localhost")]
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


async def test_board_staff_hear_each_update(board_staff):
    ws = await open_board(await cookie_for(board_staff))
    await asyncio.sleep(0.2)  # the group subscription reaches Redis

    await sync_to_async(send_board_update)({"type": "areas", "areas": [], "paying_now": "0"})

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

    payload = board.live_payload(timezone.now())

    (area,) = payload["areas"]
    assert (area["code"], area["off"], area["devices"]) == ("TN-CHN-042", 1, 1)
    assert area["since"] == (now - timedelta(seconds=60)).isoformat()
    assert float(area["rate_per_second"]) > 0 and payload["paying_now"] == area["rate_per_second"]
    assert board_update() is None  # nobody has the board open: nothing worked out or sent
