"""Storing ticks: one transaction for many devices' ticks.

Both transports end here. The WebSocket path gathers what every connection
of a web process received over a fraction of a second and stores it with
one call; the HTTP fallback calls it for one device. A device's ticks are
acknowledged only with the seq this function returns, after its commit.

This is the hot path of a mass cut, so it reads plain rows (no model
instances) and writes each table with one statement on PostgreSQL
(`UPDATE ... FROM unnest(arrays)`); SQLite, in-process, takes `executemany`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic

from django.conf import settings
from django.db import connection, transaction

from common.db import array_literal, text_array_literal
from devices.models import Device, Outage, PowerOnSpan, WitnessedInterval
from devices.outages import DeviceState, MaxGaps, OutageRecord, apply_ticks
from devices.protocol import Tick

OUTAGE_FIELDS = (
    "current_outage__status",
    "current_outage__started_at",
    "current_outage__ended_at",
    "current_outage__last_tick_at",
    "current_outage__first_seq",
    "current_outage__last_seq",
    "current_outage__witnessed_seconds",
    "current_outage__ticks_received",
    "current_outage__gaps",
    "current_outage__max_gap_seconds",
    "current_outage__open_interval_start",
    "current_outage__updated_at",
)

# Ticks this much older than their arrival are a device replaying its buffer: the
# outage's past changed, and the accrual posts it at once rather than at its checkpoint.
BACKFILL_AFTER = timedelta(seconds=30)


@dataclass(frozen=True)
class OutageEvent:
    """A change a flush made to an outage that its household should hear of at once.

    `kind`: cut_started, power_back, gap (a silence longer than max_gap ended),
    resumed (ticks after lost contact), backfilled (ticks from a device's buffer).
    """

    kind: str
    household_id: int
    device_id: int
    outage: OutageRecord
    new_intervals: tuple[tuple[datetime, datetime], ...]


@dataclass
class Stored:
    """What a flush stored: what to acknowledge, the events, and the devices in a cut now."""

    acks: dict[int, int | None] = field(default_factory=dict)
    events: list[OutageEvent] = field(default_factory=list)
    # device id -> (household id, the ongoing outage) for every device of the flush in a cut
    cuts: dict[int, tuple[int, OutageRecord]] = field(default_factory=dict)


def max_gap() -> MaxGaps:
    """max_gap of the compensation policy at each moment (payouts owns the policy): a silence
    is judged by the version in force when it began, not when its ticks arrive."""
    from policy.evidence import max_gap_changes

    return MaxGaps(max_gap_changes())


def _outage_row(record: OutageRecord, device_id: int, now: datetime) -> Outage:
    return Outage(
        pk=record.id,
        device_id=device_id,
        status=record.status,
        started_at=record.started_at,
        ended_at=record.ended_at,
        last_tick_at=record.last_tick_at,
        first_seq=record.first_seq,
        last_seq=record.last_seq,
        witnessed_seconds=record.witnessed_seconds,
        ticks_received=record.ticks_received,
        gaps=record.gaps,
        max_gap_seconds=record.max_gap_seen,
        open_interval_start=record.open_interval_start,
        updated_at=max(now, record.last_tick_at),
    )


def _load_states(
    device_ids: list[int], token_hashes: Mapping[int, str] | None, households: dict[int, int]
) -> list[tuple[int, DeviceState]]:
    """Lock the live devices (in one order for every writer: no deadlocks) and read their state.

    A device whose token is no longer the one its ticks came with (`token_hashes`) is left
    out: the lock orders this read after any regeneration that committed before it.
    """
    rows = (
        Device.objects.select_for_update(of=("self",))
        .filter(pk__in=device_ids, revoked_at__isnull=True)
        .order_by("pk")
        .values_list(
            "pk",
            "household_id",
            "token_hash",
            "last_seq",
            "power_state",
            "last_tick_at",
            "current_outage_id",
            *OUTAGE_FIELDS,
        )
    )
    states = []
    for pk, household_id, token_hash, last_seq, power, last_tick_at, outage_id, *outage in rows:
        if token_hashes is not None and token_hashes.get(pk) != token_hash:
            continue
        households[pk] = household_id
        record = None
        if outage_id is not None:
            (
                status,
                started,
                ended,
                last_at,
                first_seq,
                o_last_seq,
                witnessed,
                ticks,
                gaps,
                gap,
                open_at,
                updated_at,
            ) = outage
            record = OutageRecord(
                id=outage_id,
                started_at=started,
                ended_at=ended,
                first_seq=first_seq,
                last_seq=o_last_seq,
                last_tick_at=last_at,
                status=status,
                witnessed_seconds=witnessed,
                ticks_received=ticks,
                gaps=gaps,
                max_gap_seen=gap,
                open_interval_start=open_at,
                updated_at=updated_at,
            )
        states.append(
            (
                pk,
                DeviceState(
                    last_seq=last_seq, power=power, last_tick_at=last_tick_at, outage=record
                ),
            )
        )
    return states


def store_ticks(
    batches: Mapping[int, Sequence[Tick]],
    *,
    received_at: datetime,
    token_hashes: Mapping[int, str] | None = None,
) -> dict[int, int | None]:
    """Apply each device's ticks and commit them; what to acknowledge (see `store`)."""
    return store(batches, received_at=received_at, token_hashes=token_hashes).acks


def store(
    batches: Mapping[int, Sequence[Tick]],
    *,
    received_at: datetime,
    token_hashes: Mapping[int, str] | None = None,
) -> Stored:
    """Apply each device's ticks (ascending seq) and commit them together.

    `token_hashes` gives, per device, the hash of the token its ticks were sent
    with (both transports pass it; None trusts the caller: tests, demo data).
    `acks` holds, for every device that may still send, its highest stored seq:
    what to acknowledge. Revoked devices, and devices whose token was replaced
    since, are left out and nothing of theirs is stored. Duplicates and replays
    change nothing but `last_seen_at`.

    An outage's `updated_at` moves only when its evidence changed other than by
    ticking on (an event): to the moment the flush writes it, or to its last tick
    when that lies ahead of the server. The accrual posts what changed at once.
    """
    began = monotonic()
    stored = Stored()
    if not batches:
        return stored
    gap = max_gap()
    households: dict[int, int] = {}
    with transaction.atomic():
        states = _load_states(list(batches), token_hashes, households)
        new_outages: list[tuple[int, OutageRecord]] = []
        changed_outages: list[OutageRecord] = []
        on_runs: list[tuple[int, datetime, datetime, bool]] = []
        evented: list[OutageRecord] = []
        for device_id, state in states:
            on_runs += power_on_runs(device_id, state, batches[device_id])
            before = _before(state.outage)
            for record in apply_ticks(state, batches[device_id], gap):
                kinds = _event_kinds(record, before if record is state_outage(before) else None)
                kinds += _event_kinds_of_time(record, received_at)
                if record.id:
                    changed_outages.append(record)
                else:
                    new_outages.append((device_id, record))
                if kinds:
                    evented.append(record)
                    household = households[device_id]
                    stored.events += [
                        OutageEvent(
                            kind, household, device_id, record, tuple(record.closed_intervals)
                        )
                        for kind in kinds
                    ]
            if state.outage is not None and state.power == "off":
                stored.cuts[device_id] = (households[device_id], state.outage)

        # Events are stamped as they are written, not as the ticks came: the accrual looks
        # back for commits later than their stamp (payouts.accrual.LOOKBACK), and these are
        # late by the writes and the commit only, however long the flush waited before.
        written = received_at + timedelta(seconds=monotonic() - began)
        for record in evented:
            record.updated_at = max(written, record.last_tick_at)
        created = Outage.objects.bulk_create(
            [_outage_row(record, device_id, written) for device_id, record in new_outages]
        )
        for (_, record), row in zip(new_outages, created, strict=True):
            record.id = row.pk
        _update_outages(changed_outages, received_at)
        WitnessedInterval.objects.bulk_create(
            [
                WitnessedInterval(outage_id=record.id, started_at=start, ended_at=end)
                for record in [r for _, r in new_outages] + changed_outages
                for start, end in record.closed_intervals
            ]
        )
        _update_devices(states, received_at)
        _record_power_on(on_runs)
    stored.acks = {device_id: state.last_seq for device_id, state in states}
    return stored


def _before(record: OutageRecord | None):
    """What an outage was before a flush: the record, and the fields events compare."""
    if record is None:
        return None
    return (record, record.status, record.gaps)


def state_outage(before) -> OutageRecord | None:
    return before[0] if before is not None else None


def _event_kinds(record: OutageRecord, before) -> list[str]:
    """What changed for a household: a new outage, its end, a gap, contact regained."""
    if record.id is None or before is None:
        kinds = ["cut_started"]
        if record.status == "ended":
            kinds.append("power_back")  # a whole cut in one batch
        return kinds
    _, status, gaps = before
    kinds = []
    if status == "lost_contact" and record.status != "lost_contact":
        kinds.append("resumed")
    if record.gaps > gaps:
        kinds.append("gap")
    if record.status == "ended" and status != "ended":
        kinds.append("power_back")
    return kinds


def _event_kinds_of_time(record: OutageRecord, received_at: datetime) -> list[str]:
    """Ticks from the past (a buffer replayed). Ticks ahead of the server's clock are no
    event: the accrual keeps an outage's checkpoint open while its witnessed time lies
    ahead, and an event on every flush would post it every second instead."""
    if record.last_tick_at < received_at - BACKFILL_AFTER:
        return ["backfilled"]
    return []


def power_on_runs(
    device_id: int, state: DeviceState, ticks: Sequence[Tick]
) -> list[tuple[int, datetime, datetime, bool]]:
    """The new ticks' runs of `on`, as (device, first, last, continues the previous tick's run).

    Read before the ticks are applied: replays (seq at or below the last stored)
    say nothing new, an off tick ends a run, and so does a silence longer than the
    missed heartbeats allow (the device said nothing then: power on is not known).
    """
    join = timedelta(seconds=settings.DEVICE_HEARTBEAT_SECONDS * settings.DEVICE_MISSED_HEARTBEATS)
    runs, first, last = [], None, None
    continues = state.power == "on"
    for tick in ticks:
        if state.last_seq is not None and tick.seq <= state.last_seq:
            continue
        if tick.power == "on":
            if last is not None and tick.ts - last > join:
                runs.append((device_id, first, last, continues))
                first, continues = None, False
            first, last = first or tick.ts, tick.ts
            continue
        if first is not None:
            runs.append((device_id, first, last, continues))
        first = last = None
        continues = False
    if first is not None:
        runs.append((device_id, first, last, continues))
    return runs


def _record_power_on(runs: list[tuple[int, datetime, datetime, bool]]) -> None:
    """Extend each device's latest power-on span, or start one (PowerOnSpan)."""
    if not runs:
        return
    join = timedelta(seconds=settings.DEVICE_HEARTBEAT_SECONDS * settings.DEVICE_MISSED_HEARTBEATS)
    latest: dict[int, tuple[int, datetime]] = {}
    for pk, device_id, ended in (
        PowerOnSpan.objects.filter(
            device_id__in={r[0] for r in runs}, ended_at__gte=min(r[1] for r in runs) - join
        )
        .order_by("device_id", "ended_at")
        .values_list("pk", "device_id", "ended_at")
    ):
        latest[device_id] = (pk, ended)
    extended: dict[int, datetime] = {}
    new = []
    for device_id, first, last, continues in runs:
        found = latest.get(device_id) if continues else None
        if found is not None and timedelta(0) <= first - found[1] <= join:
            extended[found[0]] = max(last, extended.get(found[0], found[1]))
        else:
            new.append(PowerOnSpan(device_id=device_id, started_at=first, ended_at=last))
    dt = connection.ops.adapt_datetimefield_value
    bulk_update(
        PowerOnSpan._meta.db_table,
        [("ended_at", "timestamptz")],
        [(pk, dt(ended)) for pk, ended in extended.items()],
    )
    PowerOnSpan.objects.bulk_create(new)


def bulk_update(table: str, columns: list[tuple[str, str]], rows: list[tuple]) -> None:
    """UPDATE `table` SET each column WHERE id matches; rows are (id, *values) in column order.

    `columns` pairs each column with its PostgreSQL type. On PostgreSQL the
    rows travel as one array per column through `unnest`: one statement with
    a parameter per column, whatever the number of rows.
    """
    if not rows:
        return
    names = [name for name, _ in columns]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            sets = ", ".join(f"{name} = %s" for name in names)
            cursor.executemany(
                f"UPDATE {table} SET {sets} WHERE id = %s", [(*row[1:], row[0]) for row in rows]
            )
            return
        arrays = ", ".join(["%s::bigint[]", *(f"%s::{kind}[]" for _, kind in columns)])
        sets = ", ".join(f"{name} = v.{name}" for name in names)
        cursor.execute(
            f"UPDATE {table} AS t SET {sets} FROM unnest({arrays}) "
            f"AS v(id, {', '.join(names)}) WHERE t.id = v.id",
            [
                _array(kind, column)
                for kind, column in zip(
                    ["bigint", *(kind for _, kind in columns)], zip(*rows, strict=True), strict=True
                )
            ],
        )


def _array(kind: str, values: tuple) -> str:
    # Numbers need no quoting: the cheaper literal for a second of every device's ticks.
    if kind in ("bigint", "integer", "numeric") and None not in values:
        return array_literal(values)
    return text_array_literal(values)


def _update_outages(records: list[OutageRecord], now: datetime) -> None:
    ops = connection.ops
    dt, dec = ops.adapt_datetimefield_value, ops.adapt_decimalfield_value
    bulk_update(
        Outage._meta.db_table,
        [
            ("status", "varchar"),
            ("ended_at", "timestamptz"),
            ("last_tick_at", "timestamptz"),
            ("last_seq", "bigint"),
            ("witnessed_seconds", "numeric"),
            ("ticks_received", "integer"),
            ("gaps", "integer"),
            ("max_gap_seconds", "numeric"),
            ("open_interval_start", "timestamptz"),
            ("updated_at", "timestamptz"),
        ],
        [
            (
                r.id,
                r.status,
                dt(r.ended_at),
                dt(r.last_tick_at),
                r.last_seq,
                dec(r.witnessed_seconds, 14, 6),
                r.ticks_received,
                r.gaps,
                dec(r.max_gap_seen, 14, 6),
                dt(r.open_interval_start),
                dt(r.updated_at or now),  # moved only by an event (see `store`)
            )
            for r in records
        ],
    )


def _update_devices(states: list[tuple[int, DeviceState]], now: datetime) -> None:
    dt = connection.ops.adapt_datetimefield_value
    bulk_update(
        Device._meta.db_table,
        [
            ("last_seq", "bigint"),
            ("power_state", "varchar"),
            ("last_tick_at", "timestamptz"),
            ("last_seen_at", "timestamptz"),
            ("current_outage_id", "bigint"),
        ],
        [
            (
                device_id,
                state.last_seq,
                state.power,
                dt(state.last_tick_at),
                dt(now),
                state.outage.id if state.outage else None,
            )
            for device_id, state in states
        ],
    )
