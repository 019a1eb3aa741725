"""Storing ticks: one transaction for many devices' ticks.

Both transports end here. The WebSocket path gathers what every connection
of a web process received over a fraction of a second and stores it with
one call; the HTTP fallback calls it for one device. A device's ticks are
acknowledged only with the seq this function returns, after its commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from devices.models import Device, Outage, WitnessedInterval
from devices.outages import DeviceState, OutageRecord, apply_ticks
from devices.protocol import Tick


def max_gap() -> timedelta:
    return timedelta(seconds=settings.OUTAGE_MAX_GAP_SECONDS)


def _record(outage: Outage) -> OutageRecord:
    return OutageRecord(
        id=outage.pk,
        started_at=outage.started_at,
        ended_at=outage.ended_at,
        first_seq=outage.first_seq,
        last_seq=outage.last_seq,
        last_tick_at=outage.last_tick_at,
        status=outage.status,
        witnessed_seconds=outage.witnessed_seconds,
        ticks_received=outage.ticks_received,
        gaps=outage.gaps,
        max_gap_seen=outage.max_gap_seconds,
        open_interval_start=outage.open_interval_start,
    )


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
        updated_at=now,
    )


def store_ticks(
    batches: Mapping[int, Sequence[Tick]], *, received_at: datetime
) -> dict[int, int | None]:
    """Apply each device's ticks (ascending seq) and commit them together.

    Returns, for every device that may still send, its highest stored seq:
    what to acknowledge. Revoked devices are left out and nothing of theirs
    is stored. Duplicates and replays change nothing but `last_seen_at`.
    """
    if not batches:
        return {}
    gap = max_gap()
    with transaction.atomic():
        devices = list(
            Device.objects.select_for_update(of=("self",))
            .filter(pk__in=list(batches), revoked_at__isnull=True)
            .select_related("current_outage")
            .order_by("pk")  # one lock order for every writer: no deadlocks
        )
        new_outages: list[tuple[Device, OutageRecord]] = []
        changed_outages: list[tuple[Device, OutageRecord]] = []
        states: list[tuple[Device, DeviceState]] = []
        for device in devices:
            state = DeviceState(
                last_seq=device.last_seq,
                power=device.power_state,
                last_tick_at=device.last_tick_at,
                outage=_record(device.current_outage) if device.current_outage else None,
            )
            for record in apply_ticks(state, batches[device.pk], gap):
                (changed_outages if record.id else new_outages).append((device, record))
            states.append((device, state))

        created = Outage.objects.bulk_create(
            [_outage_row(record, device.pk, received_at) for device, record in new_outages]
        )
        for (_, record), row in zip(new_outages, created, strict=True):
            record.id = row.pk
        _update_outages(changed_outages, received_at)
        WitnessedInterval.objects.bulk_create(
            [
                WitnessedInterval(outage_id=record.id, started_at=start, ended_at=end)
                for _, record in new_outages + changed_outages
                for start, end in record.closed_intervals
            ]
        )
        _update_devices(states, received_at)
    return {device.pk: state.last_seq for device, state in states}


def _update_outages(rows: list[tuple[Device, OutageRecord]], now: datetime) -> None:
    if not rows:
        return
    ops = connection.ops
    dt, dec = ops.adapt_datetimefield_value, ops.adapt_decimalfield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Outage._meta.db_table} SET status = %s, ended_at = %s, last_tick_at = %s, "
            "last_seq = %s, witnessed_seconds = %s, ticks_received = %s, gaps = %s, "
            "max_gap_seconds = %s, open_interval_start = %s, updated_at = %s WHERE id = %s",
            [
                (
                    r.status,
                    dt(r.ended_at),
                    dt(r.last_tick_at),
                    r.last_seq,
                    dec(r.witnessed_seconds, 14, 6),
                    r.ticks_received,
                    r.gaps,
                    dec(r.max_gap_seen, 14, 6),
                    dt(r.open_interval_start),
                    dt(now),
                    r.id,
                )
                for _, r in rows
            ],
        )


def _update_devices(rows: list[tuple[Device, DeviceState]], now: datetime) -> None:
    if not rows:
        return
    dt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Device._meta.db_table} SET last_seq = %s, power_state = %s, "
            "last_tick_at = %s, last_seen_at = %s, current_outage_id = %s WHERE id = %s",
            [
                (
                    state.last_seq,
                    state.power,
                    dt(state.last_tick_at),
                    dt(now),
                    state.outage.id if state.outage else None,
                    device.pk,
                )
                for device, state in rows
            ],
        )
