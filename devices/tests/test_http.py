"""POST /api/device/ticks: the protocol's HTTP fallback."""

import asyncio
import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import limits, services, views
from devices.limits import RATE_BURST, SharedLimits
from devices.models import Device, Outage
from devtools.stack import free_port

pytestmark = pytest.mark.django_db

URL = "/api/device/ticks"


def batch(*seqs, power="off", shift=0):
    now = timezone.now()
    return {
        "type": "batch",
        "ticks": [
            {
                "seq": seq,
                "ts": (now + timedelta(seconds=shift + seq - max(seqs))).isoformat(),
                "power": power,
            }
            for seq in seqs
        ],
    }


def registered_an_hour_ago(device):
    """The tests send ticks from the last few seconds: from before a device registered just now."""
    Device.objects.filter(pk=device.pk).update(registered_at=timezone.now() - timedelta(hours=1))
    device.refresh_from_db()


@pytest.fixture
def device_and_token(alice, register_device):
    device, token = register_device(alice)
    registered_an_hour_ago(device)
    return device, token


def post(client, token, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(URL, data, content_type="application/json", headers=headers)


def test_it_stores_a_batch_and_answers_the_ack(client, device_and_token):
    device, token = device_and_token

    response = post(client, token, batch(1, 2, 3))

    assert response.status_code == 200
    assert response.json() == {"ack": 3}
    assert Outage.objects.get(device=device).ticks_received == 3


def test_a_replay_is_acknowledged_and_counted_once(client, device_and_token):
    _, token = device_and_token
    body = batch(1, 2, 3)
    post(client, token, body)

    assert post(client, token, body).json() == {"ack": 3}
    assert Outage.objects.get().ticks_received == 3


@pytest.mark.parametrize(
    "body, code",
    [
        ("{", "bad_json"),
        ({"type": "batch", "ticks": [{"seq": 1}]}, "bad_message"),
        (batch(1, shift=1000), "clock_skew"),
        (batch(1, shift=-80 * 3600), "too_old"),
    ],
)
def test_bad_input_is_a_400_with_its_code_and_stores_nothing(client, device_and_token, body, code):
    device, token = device_and_token

    response = post(client, token, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    device.refresh_from_db()
    assert device.last_seq is None and not Outage.objects.exists()


def test_a_tick_from_before_the_device_was_registered_is_too_old(client, alice, register_device):
    device, token = register_device(alice, name="Just installed")
    ticks = [
        {"seq": 1, "ts": (device.registered_at - timedelta(seconds=1)).isoformat(), "power": "off"},
        {"seq": 2, "ts": device.registered_at.isoformat(), "power": "off"},
    ]

    response = post(client, token, {"type": "batch", "ticks": ticks})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "too_old",
        "detail": "ts is before the device was registered",
        "seq": 1,
    }
    device.refresh_from_db()
    assert device.last_seq is None and not Outage.objects.exists()


def test_a_bare_tick_is_a_bad_message(client, device_and_token):
    device, token = device_and_token
    bare = {"type": "tick", "seq": 1, "ts": timezone.now().isoformat(), "power": "off"}

    response = post(client, token, bare)

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "bad_message", "detail": 'type must be "batch"'}
    device.refresh_from_db()
    assert device.last_seq is None


@pytest.mark.parametrize(
    "content_type", ["", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
def test_a_body_that_is_not_declared_json_is_a_bad_message(client, device_and_token, content_type):
    device, token = device_and_token

    response = client.generic(
        "POST",
        URL,
        json.dumps(batch(1)),
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_message" and "Content-Type" in error["detail"]
    device.refresh_from_db()
    assert device.last_seq is None


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]
)
def test_json_with_a_utf8_charset_is_accepted(client, device_and_token, content_type):
    _, token = device_and_token

    response = client.generic(
        "POST",
        URL,
        json.dumps(batch(1)),
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.json() == {"ack": 1}


@pytest.mark.parametrize("token", [None, "ced_unknown", "nonsense"])
def test_a_bad_token_is_a_401(client, token):
    response = post(client, token, batch(1))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_revoked_device_is_a_401(client, device_and_token):
    device, token = device_and_token
    services.device_revoke(device=device)

    assert post(client, token, batch(1)).status_code == 401


def test_nothing_is_stored_under_a_token_replaced_after_it_was_checked(
    client, device_and_token, monkeypatch
):
    device, token = device_and_token

    def checked_then_replaced(presented):
        found = services.device_for_token(presented)
        services.device_regenerate_token(device=device)
        return found

    monkeypatch.setattr(views, "device_for_token", checked_then_replaced)

    response = post(client, token, batch(1, 2))

    assert response.status_code == 401
    device.refresh_from_db()
    assert device.last_seq is None and not Outage.objects.exists()


def test_a_body_over_64_kib_is_a_413(client, device_and_token):
    _, token = device_and_token

    response = post(client, token, json.dumps({"type": "batch", "pad": "x" * 70000}))

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_a_flood_is_a_429(client, device_and_token):
    _, token = device_and_token

    statuses = [post(client, token, "{}").status_code for _ in range(60)]

    assert 429 in statuses
    assert statuses[:40] == [400] * 40


def test_a_device_over_its_limit_on_its_sockets_gets_429_over_http(client, device_and_token):
    device, token = device_and_token
    # What a web process does with the frames its sockets counted for the device.
    elsewhere = SharedLimits(django_settings.REDIS_URL)
    for _ in range(3 * RATE_BURST):
        elsewhere.count(device.token_hash)

    async def settle():
        await elsewhere.settle([])
        await elsewhere.aclose()

    asyncio.run(settle())

    response = post(client, token, batch(1))

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    device.refresh_from_db()
    assert device.last_seq is None


def test_with_redis_unreachable_ticks_are_stored_and_a_flood_is_still_a_429(
    client, device_and_token, settings, monkeypatch
):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setattr(limits, "_http_breaker", limits._Breaker())
    _, token = device_and_token

    assert post(client, token, batch(1)).json() == {"ack": 1}
    assert 429 in [post(client, token, "{}").status_code for _ in range(60)]


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_later_posts_continue_the_same_device_state(client, device_and_token):
    device, token = device_and_token
    post(client, token, batch(1, 2))

    response = post(client, token, batch(2, 3, power="on"))

    assert response.json() == {"ack": 3}
    assert Device.objects.get(pk=device.pk).power_state == "on"
    assert Outage.objects.get().status == "ended"


hostile_bodies = st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode)
hostile_messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["batch", "tick", "hello", ""])},
    optional={
        "ticks": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "seq": st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=5),
                    "ts": st.text(max_size=40) | st.just("2026-11-28T00:00:00+00:00"),
                    "power": st.sampled_from(["on", "off", "OFF", "", None]),
                },
            ),
            max_size=5,
        )
        | st.text(max_size=10),
        "seq": st.integers(min_value=-5, max_value=2**64),
    },
).map(lambda m: json.dumps(m).encode())


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=hostile_bodies | hostile_messages)
def test_hostile_bodies_never_make_a_500_and_rejected_ones_store_nothing(
    client, device_and_token, body
):
    device, token = device_and_token
    before = Device.objects.values_list("last_seq", "last_seen_at").get(pk=device.pk)
    outages = Outage.objects.count()

    response = post(client, token, body)

    assert response.status_code in {200, 400, 413, 429}
    if response.status_code != 200:
        assert Device.objects.values_list("last_seq", "last_seen_at").get(pk=device.pk) == before
        assert Outage.objects.count() == outages


def test_a_token_only_ever_moves_its_own_device(client, alice, register_device):
    mine, token = register_device(alice, name="mine")
    other, _ = register_device(alice, name="other")
    registered_an_hour_ago(mine)

    assert post(client, token, batch(1, 2, 3)).status_code == 200

    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.last_seq == 3 and Outage.objects.get().device == mine
    assert other.last_seq is None and other.last_seen_at is None
