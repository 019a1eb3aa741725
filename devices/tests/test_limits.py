"""A device's limits hold over all its connections on every web process (two real daphnes)."""

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import Daphne
from devices.limits import (
    CHARGE_AFTER_FRAMES,
    RATE_BURST,
    RATE_PER_SECOND,
    SharedLimits,
    _replaced,
    bucket_keys,
)
from devices.models import Outage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_daphnes(daphne, server_env):
    other = Daphne(server_env)
    other.start()
    yield daphne, other
    other.stop()


async def open_as(url: str, token: str):
    return await connect(url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None)


async def until_closed(websocket) -> tuple[list[str], int | None]:
    """The error codes a connection received until the server closed it, and the close code."""
    codes = []
    try:
        async for frame in websocket:
            if '"error"' in frame:
                codes.append(frame.split('"code": "', 1)[1].split('"', 1)[0])
    except ConnectionClosed:
        pass
    rcvd = websocket.protocol.close_rcvd
    return codes, rcvd.code if rcvd else None


async def test_a_devices_connections_on_two_web_processes_share_one_rate_limit(
    two_daphnes, alice, register_device
):
    _, token = await database_sync_to_async(register_device)(alice)
    first, second = [await open_as(server.url, token) for server in two_daphnes]

    for websocket in (first, second):
        for _ in range(39):  # within each connection's own burst of 40, not the device's
            await websocket.send("{}")

    for websocket in (first, second):
        codes, close = await asyncio.wait_for(until_closed(websocket), 30)
        assert (codes[-1], close) == ("rate_limited", 4429)


async def test_a_device_keeps_three_connections_over_all_web_processes(
    two_daphnes, alice, register_device
):
    _, token = await database_sync_to_async(register_device)(alice)
    one, two = two_daphnes
    oldest, *newer = [await open_as(server.url, token) for server in (one, one, two, two)]

    assert await asyncio.wait_for(until_closed(oldest), 30) == (["replaced"], 4409)
    for websocket in newer:  # still open
        await asyncio.wait_for(await websocket.ping(), 10)
        await websocket.close()


class Connection:
    token_hash = "a-device"

    def __init__(self, generation):
        self.generation = generation


def test_a_device_keeps_its_three_newest_connections():
    first, second, third, fourth = [Connection(n) for n in (1, 2, None, None)]

    replaced = _replaced([first, second, third, fourth], [third, fourth], newest=4)

    assert replaced == [first]
    assert (third.generation, fourth.generation) == (3, 4)


def test_connections_are_numbered_afresh_when_redis_lost_the_counter():
    old, new = Connection(7), Connection(None)

    assert _replaced([old, new], [new], newest=1) == []
    assert (old.generation, new.generation) == (None, None)  # numbered again at the next settle


ATTACK_SECONDS = 5.0
SOCKETS = 30


async def attack(url: str, token: str, seconds: float, sockets: int) -> float:
    """`sockets` sockets of one device at once, each sending off ticks as fast as it can and
    reconnecting whenever it is closed, for `seconds`. Returns how long it lasted, from the
    first connection to the last frame."""
    seqs = itertools.count(1)
    started = time.monotonic()
    deadline = started + seconds

    async def one_socket():
        while time.monotonic() < deadline:
            try:
                async with connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    proxy=None,
                    open_timeout=10,
                ) as websocket:
                    while time.monotonic() < deadline:
                        stamp = datetime.now(UTC).isoformat()
                        tick = {"type": "tick", "seq": next(seqs), "ts": stamp, "power": "off"}
                        await websocket.send(json.dumps(tick))
                        await asyncio.sleep(0)  # the others' turn, and the server's answers
            except (ConnectionClosed, OSError, TimeoutError):
                await asyncio.sleep(0.01)

    await asyncio.gather(*(one_socket() for _ in range(sockets)))
    return time.monotonic() - started


@database_sync_to_async
def ticks_stored(device) -> int:
    return sum(Outage.objects.filter(device=device).values_list("ticks_received", flat=True))


@pytest.mark.parametrize("web_processes", [1, 2])
async def test_thirty_sockets_at_once_get_the_rate_and_one_burst_not_thirty(
    two_daphnes, alice, register_device, web_processes
):
    device, token = await database_sync_to_async(register_device)(alice)
    servers = two_daphnes[:web_processes]

    lasted = await asyncio.gather(
        *(attack(server.url, token, ATTACK_SECONDS, SOCKETS // len(servers)) for server in servers)
    )

    # What the device may send in that time, and what may still be on its way when it ends.
    await asyncio.sleep(1)
    allowed = RATE_BURST * web_processes + RATE_PER_SECOND * (max(lasted) + 1)
    assert await ticks_stored(device) <= allowed


async def test_a_device_owes_every_frame_past_its_limit_not_just_one_burst(settings):
    """Thirty bursts at once leave the device owing thirty bursts: it stays limited until it
    has paid them back at its rate (not for a burst's two seconds)."""
    limits = SharedLimits(settings.REDIS_URL)
    try:
        for _ in range(30 * RATE_BURST):
            limits.count("a-device-of-thirty-sockets")

        over, _ = await limits.settle([])

        level = float(
            await limits.client.hget(bucket_keys("a-device-of-thirty-sockets")[0], "level")
        )
        limited_for = await limits.client.pttl(bucket_keys("a-device-of-thirty-sockets")[1])
    finally:
        await limits.client.delete(*bucket_keys("a-device-of-thirty-sockets"))
        await limits.aclose()
    assert over == {"a-device-of-thirty-sockets"}
    assert level <= RATE_BURST - 30 * RATE_BURST + 1  # every frame owed, refills aside
    assert limited_for > 50_000  # ms: about 58 s of the device's rate, to the flag's expiry


async def test_a_devices_frames_reach_redis_in_tens_and_when_it_leaves(settings):
    """Frames are carried until there are CHARGE_AFTER_FRAMES (an honest device costs Redis a
    call every ten seconds), and charged at once when the device's last connection here is
    gone."""
    limits = SharedLimits(settings.REDIS_URL)
    ticking, leaving = Connection(1), Connection(1)
    ticking.token_hash, leaving.token_hash = "a-device-ticking", "a-device-leaving"
    keys = [*bucket_keys(ticking.token_hash), *bucket_keys(leaving.token_hash)]
    try:
        for _ in range(CHARGE_AFTER_FRAMES - 1):
            limits.count(ticking.token_hash)
        limits.count(leaving.token_hash)
        await limits.settle([ticking, leaving])
        nothing_yet = await limits.client.exists(*keys)

        limits.count(ticking.token_hash)
        await limits.settle([ticking])  # the leaving device's connection has gone

        ticking_level = float(await limits.client.hget(bucket_keys(ticking.token_hash)[0], "level"))
        leaving_level = float(await limits.client.hget(bucket_keys(leaving.token_hash)[0], "level"))
    finally:
        await limits.client.delete(*keys)
        await limits.aclose()
    assert nothing_yet == 0
    assert ticking_level == pytest.approx(RATE_BURST - CHARGE_AFTER_FRAMES, abs=1)
    assert leaving_level == pytest.approx(RATE_BURST - 1, abs=1)


async def test_frames_on_other_processes_add_to_those_charged_on_one(settings):
    """A device fast on one process and slow on two others: every frame reaches its bucket
    (from the review: frames under a per-process share were never charged, and a device sent
    29 frames a second over three processes)."""
    processes = [SharedLimits(settings.REDIS_URL) for _ in range(3)]
    device = "a-device-on-three-processes"
    connection = Connection(1)
    connection.token_hash = device
    per_second = [18, 5, 5]
    try:
        started = await processes[0].client.time()
        for _ in range(10):  # ten settles' worth, faster than the bucket refills
            for limits, frames in zip(processes, per_second, strict=True):
                for _ in range(frames):
                    limits.count(device)
                await limits.settle([connection])
        level = float(await processes[0].client.hget(bucket_keys(device)[0], "level"))
        ended = await processes[0].client.time()
    finally:
        await processes[0].client.delete(*bucket_keys(device))
        for limits in processes:
            await limits.aclose()
    sent = 10 * sum(per_second)
    held_back = 2 * (CHARGE_AFTER_FRAMES - 1)  # at most this many still carried by the slow two
    # What the bucket refilled meanwhile, by Redis's clock (the one the charges use).
    refilled = RATE_PER_SECOND * ((ended[0] - started[0]) + (ended[1] - started[1]) / 1e6)
    assert level <= RATE_BURST - (sent - held_back) + refilled
