from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

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


@pytest.fixture
def fresh_rules():
    """The policy's evidence rules read afresh (policy.evidence caches them for a few seconds)."""
    from policy import evidence

    evidence.forget()
    yield
    evidence.forget()


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


def test_ticks_under_a_replaced_token_store_nothing_and_get_no_ack(alice, register_device):
    device, token = register_device(alice)
    authenticated = services.device_for_token(token).token_hash
    services.device_regenerate_token(device=device)  # between authenticating and storing

    acks = store_ticks(
        {device.pk: ticks((1, 0, "off"))}, received_at=T0, token_hashes={device.pk: authenticated}
    )

    assert acks == {}
    device.refresh_from_db()
    assert device.last_seq is None and device.last_seen_at is None
    assert not Outage.objects.exists()
    assert store_ticks(
        {device.pk: ticks((1, 0, "off"))},
        received_at=T0,
        token_hashes={device.pk: device.token_hash},
    ) == {device.pk: 1}


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


@pytest.mark.django_db
def test_two_on_ticks_far_apart_are_not_one_span_of_power(alice, register_device):
    """A device that said "on", then nothing for 10 minutes, then "on": power is known at
    those two moments, not in between (nothing contradicts a neighbour's cut then)."""
    device, _ = register_device(alice)
    t0 = timezone.now() - timedelta(minutes=20)
    ticks = [Tick(seq=1, ts=t0, power="on"), Tick(seq=2, ts=t0 + timedelta(minutes=10), power="on")]

    store_ticks({device.pk: ticks}, received_at=t0 + timedelta(minutes=10))

    spans = list(PowerOnSpan.objects.values_list("started_at", "ended_at"))
    assert spans == [(t0, t0), (t0 + timedelta(minutes=10), t0 + timedelta(minutes=10))]


def test_backfilled_ticks_are_judged_by_the_max_gap_in_force_when_they_were_taken(
    device, time_machine, fresh_rules
):
    """A version with a longer max_gap applies from its start: ticks a device kept from three
    days ago, 550 s apart, stay gaps under the 120 s of their time."""
    from policy.models import Policy

    now = T0 + timedelta(days=3)
    time_machine.move_to(now, tick=False)
    Policy.objects.create(
        name="Generous", effective_from=now, max_gap_seconds=600, silence_timeout_seconds=600
    )
    kept = [
        Tick(seq=n, ts=now - timedelta(hours=70) + timedelta(seconds=550 * n), power="off")
        for n in range(1, 6)
    ]

    store_ticks({device.pk: kept}, received_at=now)

    outage = Outage.objects.get()
    assert outage.witnessed_seconds == 0 and outage.gaps == 4
    later = [Tick(seq=6, ts=now + timedelta(seconds=1), power="off")]
    later.append(Tick(seq=7, ts=now + timedelta(seconds=501), power="off"))
    time_machine.move_to(now + timedelta(seconds=600), tick=False)
    store_ticks({device.pk: later}, received_at=now + timedelta(seconds=600))
    outage.refresh_from_db()
    assert outage.witnessed_seconds == 500 and outage.gaps == 5  # the new rule, from its start


def test_a_stored_max_gap_past_the_bound_counts_as_the_bound(device, time_machine, fresh_rules):
    """However a version got a longer max_gap into the database (the admin and the model refuse
    it), a silence longer than 600 s or than the silence timeout is a gap."""
    from policy.models import Policy

    time_machine.move_to(T0, tick=False)
    Policy.objects.create(
        name="Stored as is", effective_from=T0, max_gap_seconds=86400, silence_timeout_seconds=300
    )

    store_ticks({device.pk: ticks((1, 0, "off"), (2, 301, "off"), (3, 302, "off"))}, received_at=T0)

    outage = Outage.objects.get()
    assert outage.witnessed_seconds == 1 and outage.gaps == 1


def _updates(table: str) -> tuple[int, int]:
    """This transaction's updates of `table` so far: all of them, and those made in place."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s",
            [table],
        )
        row = cursor.fetchone()
    return row or (0, 0)


def test_ticking_on_updates_the_outage_and_the_device_in_place(device):
    """A second of ticks must not add index entries on PostgreSQL (migration 0008): an
    index on a column that every tick moves would bloat both tables a row a second. (The
    pages of a test database are never full: this cannot see the fillfactor's part.)"""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("heap-only updates are PostgreSQL's")
    store_ticks(
        {device.pk: ticks((1, 0, "off"), (2, 1, "off"))}, received_at=T0 + timedelta(seconds=1)
    )
    before = {t: _updates(t) for t in ("devices_outage", "devices_device")}

    for n in range(2, 6):  # four flushes of ticking on: no event
        at = T0 + timedelta(seconds=n)
        store_ticks({device.pk: [Tick(seq=n + 1, ts=at, power="off")]}, received_at=at)

    for table, (updated, in_place) in before.items():
        now_updated, now_in_place = _updates(table)
        assert now_updated - updated == 4, table
        assert now_in_place - in_place == 4, table
    assert Outage.objects.get().last_tick_at == T0 + timedelta(seconds=5)


def test_events_are_stamped_as_they_are_written_not_as_the_ticks_came(device, monkeypatch):
    """The accrual looks back a few seconds for commits later than their stamp
    (payouts.accrual.LOOKBACK): a flush that spent 5 s before writing must not commit a
    stamp 5 s old."""
    from devices import ingest

    clock = iter([100.0, 105.0])  # the flush begins; 5 s later it writes
    monkeypatch.setattr(ingest, "monotonic", lambda: next(clock))
    store_ticks({device.pk: ticks((1, 0, "off"), (2, 1, "off"))}, received_at=T0)

    assert Outage.objects.get().updated_at == T0 + timedelta(seconds=5)


def test_an_outage_that_ends_is_stamped_as_it_is_written(device, monkeypatch):
    from devices import ingest

    store_ticks({device.pk: ticks((1, 0, "off"), (2, 1, "off"))}, received_at=T0)
    clock = iter([100.0, 105.0])
    monkeypatch.setattr(ingest, "monotonic", lambda: next(clock))
    store_ticks({device.pk: ticks((3, 2, "on"))}, received_at=T0 + timedelta(seconds=2))

    outage = Outage.objects.get()
    assert outage.status == OutageStatus.ENDED
    assert outage.updated_at == T0 + timedelta(seconds=7)
