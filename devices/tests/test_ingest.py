from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from devices import services
from devices.ingest import store_ticks
from devices.models import Outage, OutageStatus, PowerOnSpan, WitnessedInterval
from devices.protocol import Tick

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)


def ticks(*rows):
    return [Tick(seq=seq, ts=T0 + timedelta(seconds=s), power=power) for seq, s, power in rows]


@pytest.fixture
def device(alice, register_device):
    return register_device(alice)[0]


def test_it_stores_a_cut_and_acknowledges_the_highest_seq(device):
    acks = store_ticks(
        {device.pk: ticks((1, 0, "off"), (2, 1, "off"), (3, 2, "off"))}, received_at=T0
    )

    assert acks == {device.pk: 3}
    outage = Outage.objects.get()
    assert outage.status == OutageStatus.ONGOING
    assert outage.witnessed_seconds == Decimal("2.000000")
    assert outage.ticks_received == 3
    assert outage.intervals() == [(T0, T0 + timedelta(seconds=2))]
    device.refresh_from_db()
    assert (device.last_seq, device.power_state, device.current_outage) == (3, "off", outage)
    assert device.last_seen_at == T0


def test_it_continues_an_outage_across_calls_and_ends_it(device):
    store_ticks({device.pk: ticks((1, 0, "off"), (2, 1, "off"))}, received_at=T0)
    store_ticks({device.pk: ticks((3, 2, "off"), (4, 200, "off"), (5, 201, "off"))}, received_at=T0)
    store_ticks({device.pk: ticks((6, 202, "on"))}, received_at=T0)

    outage = Outage.objects.get()
    assert outage.status == OutageStatus.ENDED
    assert outage.ended_at == T0 + timedelta(seconds=202)
    assert outage.witnessed_seconds == Decimal("4.000000")
    assert outage.gaps == 1
    assert list(WitnessedInterval.objects.values_list("started_at", "ended_at")) == [
        (T0, T0 + timedelta(seconds=2)),
        (T0 + timedelta(seconds=200), T0 + timedelta(seconds=202)),
    ]
    device.refresh_from_db()
    assert device.current_outage is None and device.power_state == "on"


def test_replays_change_nothing_but_are_acknowledged(device):
    stream = ticks((1, 0, "off"), (2, 1, "off"), (3, 2, "off"))
    store_ticks({device.pk: stream}, received_at=T0)

    acks = store_ticks({device.pk: stream[:2]}, received_at=T0)

    assert acks == {device.pk: 3}
    assert Outage.objects.get().witnessed_seconds == Decimal("2.000000")


def test_many_devices_in_one_call(alice, bob, register_device):
    a, _ = register_device(alice)
    b, _ = register_device(bob, area_code="DL-SKT-007")

    acks = store_ticks(
        {a.pk: ticks((10, 0, "off"), (11, 1, "off")), b.pk: ticks((5, 0, "on"))}, received_at=T0
    )

    assert acks == {a.pk: 11, b.pk: 5}
    assert Outage.objects.get().device == a


def test_a_revoked_device_stores_nothing_and_gets_no_ack(device):
    services.device_revoke(device=device)

    assert store_ticks({device.pk: ticks((1, 0, "off"))}, received_at=T0) == {}
    assert not Outage.objects.exists()


def test_a_silent_outage_is_lost_contact_until_ticks_return(device):
    store_ticks({device.pk: ticks((1, 0, "off"), (2, 1, "off"))}, received_at=T0)

    assert services.outages_mark_lost_contact(now=T0 + timedelta(seconds=299)) == 0
    assert services.outages_mark_lost_contact(now=T0 + timedelta(seconds=301)) == 1
    assert Outage.objects.get().status == OutageStatus.LOST_CONTACT
    device.refresh_from_db()
    assert device.connection_state(now=T0 + timedelta(seconds=301)) == "lost"

    store_ticks({device.pk: ticks((3, 400, "off"))}, received_at=T0 + timedelta(seconds=400))

    outage = Outage.objects.get()
    assert outage.status == OutageStatus.ONGOING
    assert outage.witnessed_seconds == Decimal("1.000000")  # the silence is not paid


def test_a_device_with_power_that_misses_three_heartbeats_is_offline(device):
    store_ticks({device.pk: ticks((1, 0, "on"))}, received_at=T0)
    device.refresh_from_db()

    assert device.connection_state(now=T0 + timedelta(seconds=179)) == "on"
    assert device.connection_state(now=T0 + timedelta(seconds=181)) == "offline"
    assert not Outage.objects.exists()


def test_heartbeats_make_power_on_spans_that_an_off_tick_or_silence_ends(device):
    def spans():
        return list(
            PowerOnSpan.objects.order_by("started_at").values_list("started_at", "ended_at")
        )

    def at(s):
        return T0 + timedelta(seconds=s)

    for seq, s in ((1, 0), (2, 60), (3, 120)):  # a heartbeat a minute: one span
        store_ticks({device.pk: ticks((seq, s, "on"))}, received_at=at(s))
    assert spans() == [(at(0), at(120))]

    # A cut, then power back: the on tick starts a new span, not the old one's.
    store_ticks(
        {device.pk: ticks((4, 130, "off"), (5, 131, "off"), (6, 150, "on"))}, received_at=at(150)
    )
    assert spans() == [(at(0), at(120)), (at(150), at(150))]

    # Silent for longer than three heartbeats: the next one starts a span too.
    store_ticks({device.pk: ticks((7, 400, "on"))}, received_at=at(400))
    # A replayed heartbeat says nothing new.
    store_ticks({device.pk: ticks((3, 120, "on"))}, received_at=at(401))
    assert spans() == [(at(0), at(120)), (at(150), at(150)), (at(400), at(400))]
