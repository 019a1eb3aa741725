"""Device protocol conformance over the WebSocket, against the real database."""

import asyncio
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from celc.asgi import application
from devices import services
from devices.hub import get_hub
from devices.limits import bucket_keys
from devices.models import Device, Outage
from devtools.stack import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def ts(seconds_ago: float = 0) -> str:
    return (timezone.now() - timedelta(seconds=seconds_ago)).isoformat()


def tick(seq, power="off", at=None):
    return {"type": "tick", "seq": seq, "ts": at or ts(), "power": power}


@pytest.fixture
async def hub():
    hub = get_hub()
    yield hub
    await hub.aclose()


@pytest.fixture
def device_and_token(alice, register_device):
    device, token = register_device(alice)
    # Registered an hour ago: the tests send ticks from the last few seconds.
    Device.objects.filter(pk=device.pk).update(registered_at=timezone.now() - timedelta(hours=1))
    device.refresh_from_db()
    return device, token


async def connect(token):
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    communicator = WebsocketCommunicator(application, "/ws/device/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def connect_in_turn(token, hub, device_id, count):
    """`count` connections of one device, each opened once the one before has its number
    (devices.limits) and its place in the hub: which is the oldest is then certain. (A
    socket is accepted before it is numbered: opened back to back, two may swap.)"""
    connections = []
    for n in range(1, count + 1):
        connections.append(await connect(token))

        async def joined(n=n):
            while len(hub.connections.get(device_id, ())) < min(n, 3):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(joined(), 10)
    return connections


async def expect_close(ws, code, error_code):
    assert (await ws.receive_json_from(timeout=10))["code"] == error_code
    assert await ws.receive_output(timeout=10) == {"type": "websocket.close", "code": code}


@database_sync_to_async
def stored(device):
    device.refresh_from_db()
    return device.last_seq, list(Outage.objects.filter(device=device))


@pytest.mark.parametrize("token", [None, "ced_not-a-real-token", "Basic abc"])
async def test_a_bad_token_gets_unauthorized_and_4401(hub, token):
    ws = await connect(token)

    await expect_close(ws, 4401, "unauthorized")


async def test_a_revoked_device_is_refused(hub, device_and_token):
    device, token = device_and_token
    await database_sync_to_async(services.device_revoke)(device=device)

    await expect_close(await connect(token), 4401, "unauthorized")


async def test_a_tick_is_stored_then_acknowledged(hub, device_and_token):
    device, token = device_and_token
    ws = await connect(token)

    await ws.send_json_to(tick(7))

    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 7}
    last_seq, outages = await stored(device)
    assert last_seq == 7 and len(outages) == 1
    await ws.disconnect()


async def test_a_batch_and_its_replay_count_once(hub, device_and_token):
    device, token = device_and_token
    ws = await connect(token)
    base = timezone.now() - timedelta(seconds=10)
    batch = {
        "type": "batch",
        "ticks": [tick(n, at=(base + timedelta(seconds=n)).isoformat()) for n in range(1, 6)],
    }

    await ws.send_json_to(batch)
    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 5}
    await ws.send_json_to(batch)
    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 5}

    _, (outage,) = await stored(device)
    assert outage.ticks_received == 5
    assert outage.witnessed_seconds == Decimal("4.000000")
    await ws.disconnect()


@pytest.mark.parametrize(
    "frame, code",
    [
        ("{nope", "bad_json"),
        (json.dumps({"type": "tick", "seq": "x", "ts": "now", "power": "off"}), "bad_message"),
        (
            json.dumps(
                {
                    "type": "batch",
                    "ticks": [
                        {"seq": n, "ts": "2026-11-27T03:30:00Z", "power": "off"}
                        for n in range(1001)
                    ],
                },
                separators=(",", ":"),
            ),
            "bad_message",
        ),
        (json.dumps({"type": "hello"}), "bad_message"),
    ],
)
async def test_a_malformed_frame_is_dropped_and_the_connection_stays_open(
    hub, device_and_token, frame, code
):
    device, token = device_and_token
    ws = await connect(token)

    await ws.send_to(text_data=frame)
    error = await ws.receive_json_from(timeout=5)
    await ws.send_json_to(tick(1))

    assert error["type"] == "error" and error["code"] == code
    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 1}
    assert (await stored(device))[0] == 1
    await ws.disconnect()


async def test_a_binary_frame_is_a_bad_message_and_the_connection_stays_open(hub, device_and_token):
    device, token = device_and_token
    ws = await connect(token)

    await ws.send_to(bytes_data=json.dumps(tick(1)).encode())
    error = await ws.receive_json_from(timeout=5)
    await ws.send_json_to(tick(2))

    assert (error["type"], error["code"]) == ("error", "bad_message")
    assert "text" in error["detail"]
    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 2}
    _, (outage,) = await stored(device)
    assert (outage.first_seq, outage.ticks_received) == (2, 1)  # the binary tick is not in it
    await ws.disconnect()


@pytest.mark.parametrize(
    "at, code",
    [(-400, "clock_skew"), (72 * 3600 + 60, "too_old")],
)
async def test_a_tick_with_an_impossible_time_is_dropped_for_good(hub, device_and_token, at, code):
    device, token = device_and_token
    ws = await connect(token)

    await ws.send_json_to(tick(3, at=ts(at)))

    error = await ws.receive_json_from(timeout=5)
    assert (error["code"], error["seq"]) == (code, 3)
    assert await ws.receive_nothing(timeout=0.5)
    assert await stored(device) == (None, [])
    await ws.disconnect()


async def test_a_tick_from_before_the_device_was_registered_is_dropped_for_good(
    hub, alice, register_device
):
    device, token = await database_sync_to_async(register_device)(alice, name="Just installed")
    ws = await connect(token)

    await ws.send_json_to(tick(3, at=(device.registered_at - timedelta(seconds=5)).isoformat()))

    error = await ws.receive_json_from(timeout=5)
    assert (error["code"], error["seq"]) == ("too_old", 3)
    assert await ws.receive_nothing(timeout=0.5)
    assert await stored(device) == (None, [])
    await ws.disconnect()


async def test_a_batch_with_one_bad_tick_stores_nothing(hub, device_and_token):
    device, token = device_and_token
    ws = await connect(token)

    await ws.send_json_to({"type": "batch", "ticks": [tick(1), tick(2, at=ts(-1000)), tick(3)]})

    assert (await ws.receive_json_from(timeout=5))["seq"] == 2
    assert await ws.receive_nothing(timeout=0.5)
    assert await stored(device) == (None, [])
    await ws.disconnect()


async def test_an_oversized_frame_closes_with_1009(hub, device_and_token):
    _, token = device_and_token
    ws = await connect(token)

    await ws.send_to(text_data=json.dumps({"type": "tick", "pad": "x" * 70000}))

    await expect_close(ws, 1009, "too_large")


async def test_a_flood_is_closed_with_4429(hub, device_and_token):
    _, token = device_and_token
    ws = await connect(token)

    for _ in range(60):
        await ws.send_to(text_data="{}")
    messages = [await ws.receive_output(timeout=5) for _ in range(42)]

    closes = [m for m in messages if m["type"] == "websocket.close"]
    assert closes == [{"type": "websocket.close", "code": 4429}]
    errors = [json.loads(m["text"])["code"] for m in messages if m["type"] == "websocket.send"]
    assert errors[-1] == "rate_limited" and errors.count("bad_message") == 40


async def until_closed(ws) -> tuple[list[str], int]:
    """The error codes a connection received until the server closed it, and the close code."""
    codes = []
    while (message := await ws.receive_output(timeout=10))["type"] != "websocket.close":
        frame = json.loads(message["text"])
        if frame["type"] == "error":
            codes.append(frame["code"])
    return codes, message["code"]


async def test_a_devices_connections_share_one_rate_limit(hub, device_and_token):
    _, token = device_and_token
    connections = [await connect(token) for _ in range(3)]

    for ws in connections:
        for _ in range(39):  # within each connection's own burst of 40, not the device's
            await ws.send_to(text_data="{}")

    for ws in connections:
        codes, close = await until_closed(ws)
        assert (codes[-1], close) == ("rate_limited", 4429)
        assert set(codes[:-1]) <= {"bad_message"}


async def test_a_device_over_its_rate_limit_is_refused_until_its_bucket_refills(
    hub, device_and_token
):
    device, token = device_and_token
    # What the rate limit marks when a device goes over it (devices.limits.CHARGE).
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(bucket_keys(device.token_hash)[1], "1", px=60_000)
    client.close()

    assert await until_closed(await connect(token)) == (["rate_limited"], 4429)


async def test_a_fourth_connection_of_a_device_replaces_its_oldest(hub, device_and_token):
    device, token = device_and_token
    oldest, *newer = await connect_in_turn(token, hub, device.pk, 4)

    assert await until_closed(oldest) == (["replaced"], 4409)
    await newer[-1].send_json_to(tick(1))
    for ws in newer:  # still open: each hears the ack
        assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 1}
        await ws.disconnect()


async def test_a_connection_gone_before_it_is_replaced_does_not_take_the_new_one_down(
    hub, device_and_token
):
    """The oldest's socket went before the server noticed (sending to it raises): the fourth
    connection still replaces it and is served (from the review: it died with 1011, and
    stayed counted in the hub among the device's three)."""
    device, token = device_and_token
    three = await connect_in_turn(token, hub, device.pk, 3)
    oldest = next(iter(hub.connections[device.pk]))

    async def socket_gone(message):
        raise ConnectionResetError("the socket went first")

    oldest.base_send = socket_gone

    fourth = await connect(token)
    await fourth.send_json_to(tick(1))

    assert await fourth.receive_json_from(timeout=10) == {"type": "ack", "seq": 1}

    async def oldest_left():  # in its application's `finally`, as it ends: maybe after the ack
        while oldest in hub.connections[device.pk]:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(oldest_left(), 10)
    assert len(hub.connections[device.pk]) == 3
    for ws in [*three, fourth]:
        await ws.disconnect()  # returns once its application has ended
    assert device.pk not in hub.connections  # each left the hub with its socket


async def what_became_of(ws) -> str:
    """ "open", or the error code and close code a connection was refused with."""
    if await ws.receive_nothing(timeout=0.5):
        return "open"
    error = json.loads((await ws.receive_output(timeout=5))["text"])["code"]
    return f"{error} {(await ws.receive_output(timeout=5))['code']}"


async def test_thirty_connections_at_once_keep_three_and_the_rest_are_replaced_at_connect(
    hub, device_and_token, monkeypatch
):
    _, token = device_and_token

    async def no_settle(connections):
        return set(), []

    # No settle comes to help: what is closed is closed at connect.
    monkeypatch.setattr(hub.limits, "settle", no_settle)

    connections = await asyncio.gather(*(connect(token) for _ in range(30)))

    became = await asyncio.gather(*(what_became_of(ws) for ws in connections))
    assert sorted(set(became)) == ["open", "replaced 4409"] and became.count("open") == 3
    still_open = [ws for ws, what in zip(connections, became, strict=True) if what == "open"]
    await still_open[0].send_json_to(tick(1))
    for ws in still_open:
        assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 1}
        await ws.disconnect()


async def test_a_new_connection_inherits_what_the_device_owes_not_a_fresh_burst(
    hub, device_and_token
):
    device, token = device_and_token
    # What other processes' settles leave in Redis for a device that sent 100 frames past its
    # limit, without the flag (as if it had run out): 5 s of its rate to pay back.
    client = redis.Redis.from_url(settings.REDIS_URL)
    seconds, micros = client.time()
    client.hset(
        bucket_keys(device.token_hash)[0], mapping={"level": -100, "at": seconds + micros / 1e6}
    )
    client.close()
    ws = await connect(token)

    await ws.send_to(text_data="{}")

    assert await until_closed(ws) == (["rate_limited"], 4429)


@pytest.fixture
def redis_unreachable(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"


async def test_with_redis_unreachable_ticks_are_stored_and_a_flood_is_still_closed(
    redis_unreachable, hub, device_and_token, alice, register_device
):
    device, token = device_and_token
    ws = await connect(token)
    await ws.send_json_to(tick(1))
    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 1}
    _, flooding = await database_sync_to_async(register_device)(alice, name="Flooding")
    flood = await connect(flooding)

    for _ in range(60):
        await flood.send_to(text_data="{}")

    codes, close = await until_closed(flood)
    assert (codes[-1], close) == ("rate_limited", 4429)
    await ws.send_json_to(tick(2))
    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 2}
    assert (await stored(device))[0] == 2
    await ws.disconnect()


async def test_revoking_closes_an_open_stream(hub, device_and_token):
    device, token = device_and_token
    ws = await connect(token)
    await ws.send_json_to(tick(1))
    assert (await ws.receive_json_from(timeout=5))["type"] == "ack"

    await database_sync_to_async(services.device_revoke)(device=device)
    await ws.send_json_to(tick(2))

    # Closed by the hub's once-a-second sweep (how fast is for the benchmark, not a test).
    await expect_close(ws, 4401, "unauthorized")
    assert (await stored(device))[0] == 1


async def test_a_regenerated_token_closes_connections_made_with_the_old_one(hub, device_and_token):
    device, token = device_and_token
    ws = await connect(token)

    new_token = await database_sync_to_async(services.device_regenerate_token)(device=device)

    await expect_close(ws, 4401, "unauthorized")
    fresh = await connect(new_token)
    await fresh.send_json_to(tick(1))
    assert await fresh.receive_json_from(timeout=5) == {"type": "ack", "seq": 1}
    await fresh.disconnect()


async def test_a_tick_sent_after_the_token_was_replaced_is_not_stored(hub, device_and_token):
    device, token = device_and_token
    ws = await connect(token)

    await database_sync_to_async(services.device_regenerate_token)(device=device)
    await ws.send_json_to(tick(1))

    await expect_close(ws, 4401, "unauthorized")
    assert await stored(device) == (None, [])


async def test_the_device_route_needs_no_origin_and_no_session(hub, device_and_token):
    device, token = device_and_token

    ws = await connect(token)  # no Origin header, no cookie
    await ws.send_json_to(tick(1, power="on"))

    assert await ws.receive_json_from(timeout=5) == {"type": "ack", "seq": 1}
    assert (await database_sync_to_async(Device.objects.get)(pk=device.pk)).power_state == "on"
    await ws.disconnect()


class _Consumer:
    """Stands in for a connection in the hub: records acks, or fails like a closing socket."""

    generation = None
    closing = False

    def __init__(self, device_id, token_hash, fail=False):
        self.device_id, self.token_hash, self.fail, self.acks = device_id, token_hash, fail, []
        self.refused = False

    async def send_ack(self, seq):
        if self.fail:
            raise RuntimeError("socket closed")
        self.acks.append(seq)

    async def refuse(self):
        self.refused = True


async def test_an_ack_to_a_closing_connection_does_not_stop_the_hub(hub, device_and_token):
    device, _ = device_and_token
    closing = _Consumer(device.pk, device.token_hash, fail=True)
    healthy = _Consumer(device.pk, device.token_hash)
    hub.add(closing)
    hub.add(healthy)
    hub.task.cancel()  # flush by hand below, not on the hub's own schedule
    now = timezone.now()
    from devices.protocol import Tick

    hub.submit(healthy, (Tick(1, now, "off"),))
    await hub.flush(asyncio.get_running_loop())
    hub.submit(healthy, (Tick(2, now + timedelta(seconds=1), "off"),))
    await hub.flush(asyncio.get_running_loop())

    assert healthy.acks == [1, 2]
    assert (await stored(device))[0] == 2


async def test_ticks_sent_under_a_token_replaced_before_they_are_stored_are_not_stored(
    hub, device_and_token
):
    device, _ = device_and_token
    old = _Consumer(device.pk, device.token_hash)
    hub.add(old)
    hub.task.cancel()  # flush by hand below, not on the hub's own schedule
    await database_sync_to_async(services.device_regenerate_token)(device=device)
    from devices.protocol import Tick

    hub.submit(old, (Tick(1, timezone.now(), "off"),))
    await hub.flush(asyncio.get_running_loop())

    assert old.acks == [] and old.refused
    assert await stored(device) == (None, [])
