"""A household hears what its device's ticks change from the web process alone: a cut
started, the power back, the device silent (paused) or heard again. No beat runs here."""

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from websockets.asyncio.client import connect

from devtools.testing import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


def tick(seq: int, power: str, ago: float = 0) -> str:
    ts = (timezone.now() - timedelta(seconds=ago)).isoformat(timespec="milliseconds")
    return json.dumps({"type": "tick", "seq": seq, "ts": ts, "power": power})


async def next_event(ws, timeout: float = 30) -> dict:
    """The next event the page hears (heartbeats and quotes skipped: no beat sends any here)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message.get("type") == "event":
            return message


async def test_a_household_hears_cut_started_paused_resumed_and_power_back_from_the_web_process(
    daphne, alice, bob, register_device
):
    device, token = await database_sync_to_async(register_device)(alice)
    await database_sync_to_async(register_device)(bob)
    host = daphne.http.removeprefix("http://")
    page = {"Cookie": await database_sync_to_async(session_cookie)(alice), "Origin": daphne.http}
    others = {"Cookie": await database_sync_to_async(session_cookie)(bob), "Origin": daphne.http}
    balance = f"ws://{host}/ws/balance/"
    async with (
        connect(balance, additional_headers=page) as household,
        connect(balance, additional_headers=others) as neighbour,
        connect(daphne.url, additional_headers={"Authorization": f"Bearer {token}"}) as meter,
    ):
        await meter.send(tick(1, "off"))
        started = await next_event(household)
        assert (started["event"], started["device"]) == ("cut_started", device.pk)
        assert started["outage"]["status"] == "ongoing"

        # The device falls silent: its household hears it paused.
        paused = await next_event(household)
        assert paused["event"] == "paused" and paused["outage"]["id"] == started["outage"]["id"]

        await meter.send(tick(2, "off"))
        resumed = await next_event(household)
        assert resumed["event"] == "resumed"
        assert resumed["outage"]["last_tick_at"] > started["outage"]["last_tick_at"]

        await meter.send(tick(3, "on"))
        back = await next_event(household)
        assert back["event"] == "power_back" and back["outage"]["status"] == "ended"
        assert back["outage"]["new_intervals"]  # the witnessed time it closed

        with pytest.raises(TimeoutError):  # another household hears nothing of it
            await next_event(neighbour, timeout=2)
