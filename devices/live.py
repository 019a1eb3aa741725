"""What a household's open dashboard hears from the web process that stored its device's
ticks, at once, without waiting for any beat task: the changes ticks make to outages.

The page keeps the facts of its outages (from the last quote, payouts/quotes.py) and
ticks the money on from them by itself; these events keep those facts current:

- `cut_started`, `power_back`, `gap` (a silence longer than max_gap ended), `resumed`
  (ticks after lost contact, or after a pause), `backfilled` (ticks replayed from a
  device's buffer): the outage as now stored, with the witnessed intervals it closed;
- `paused`: the device in a cut fell silent (no tick for PAUSE_AFTER, or its last
  connection here closed): the page stops counting that outage at its last tick
  until it hears from it again.

Sent through common.live, one pipelined publish per flush for all the households.
"""

from __future__ import annotations

from datetime import datetime

from common.live import household_group, publish
from devices.ingest import OutageEvent
from devices.outages import OutageRecord

# A device in a cut ticks every second: this long without a tick is silence.
PAUSE_AFTER = 2.5


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def outage_payload(record: OutageRecord, new_intervals=()) -> dict:
    """An outage as the page keeps its facts (intervals closed by this change included)."""
    return {
        "id": record.id,
        "status": record.status,
        "started_at": _iso(record.started_at),
        "ended_at": _iso(record.ended_at),
        "last_tick_at": _iso(record.last_tick_at),
        "open_interval_start": _iso(record.open_interval_start),
        "witnessed_seconds": f"{record.witnessed_seconds:.6f}",
        "new_intervals": [[_iso(a), _iso(b)] for a, b in new_intervals],
    }


def event_message(kind: str, device_id: int, at: datetime, outage: dict) -> dict:
    return {
        "type": "balance.event",
        "payload": {
            "type": "event",
            "event": kind,
            "at": at.isoformat(),
            "device": device_id,
            "outage": outage,
        },
    }


def publish_events(events: list[OutageEvent], at: datetime) -> int:
    """The events of one flush, to their households' groups in one pipeline."""
    return publish(
        (
            household_group(event.household_id),
            event_message(
                event.kind,
                event.device_id,
                at,
                outage_payload(event.outage, event.new_intervals),
            ),
        )
        for event in events
    )


def publish_paused(paused: list[tuple[int, int, int, datetime]], at: datetime) -> int:
    """(household, device, outage, last tick) of each device fallen silent in a cut."""
    return publish(
        (
            household_group(household_id),
            event_message(
                "paused", device_id, at, {"id": outage_id, "last_tick_at": _iso(last_tick)}
            ),
        )
        for household_id, device_id, outage_id, last_tick in paused
    )
