"""Areas as a whole, read from the database: their outages as spans, households served,
reliability indices, and the open-data table (no household identity in it).

The arithmetic is in devices/reliability.py; this module only gathers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from devices.models import Area, Device, Outage, OutageStatus
from devices.reliability import Indices, Span, indices, interruptions


def outage_end(status: str, ended_at, last_tick_at, now: datetime) -> datetime:
    """Where an outage's span stops: its on tick; its last tick if contact was lost; now."""
    if ended_at is not None:
        return ended_at
    if status == OutageStatus.LOST_CONTACT:
        return last_tick_at
    return now


def spans_between(
    start: datetime, end: datetime, now: datetime | None = None, area: str | None = None
) -> list[Span]:
    """Every outage (of `area`, if given) that overlaps [start, end), as spans (ongoing ones
    up to `now`)."""
    now = now or timezone.now()
    outages = Outage.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start), started_at__lt=end
    )
    if area is not None:
        outages = outages.filter(device__area__code=area)
    rows = outages.values_list(
        "device_id",
        "device__household_id",
        "device__area__code",
        "started_at",
        "ended_at",
        "status",
        "last_tick_at",
    )
    return [
        Span(device, household, area, started, outage_end(status, ended, last_tick, now))
        for device, household, area, started, ended, status, last_tick in rows
    ]


def households_served(start: datetime, end: datetime) -> dict[str, int]:
    """Households with a device in each area at some time in [start, end)."""
    rows = (
        Device.objects.filter(registered_at__lt=end)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=start))
        .values_list("area__code", "household_id")
        .distinct()
    )
    served: dict[str, set] = defaultdict(set)
    for area, household in rows:
        served[area].add(household)
    return {area: len(households) for area, households in served.items()}


def devices_per_area() -> dict[str, int]:
    rows = Device.objects.filter(revoked_at__isnull=True).values_list("area__code", flat=True)
    counts: dict[str, int] = defaultdict(int)
    for area in rows:
        counts[area] += 1
    return counts


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in India time."""
    zone = timezone.get_current_timezone()
    first = datetime(month.year, month.month, 1, tzinfo=zone)
    following = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=zone)
    return first, following


@dataclass(frozen=True)
class AreaMonth:
    code: str
    name: str
    month: date
    indices: Indices


def area_indices(month: date, now: datetime | None = None) -> list[AreaMonth]:
    """Each area's indices for the month (areas with households served, by code)."""
    start, end = month_bounds(month)
    spans = spans_between(start - timedelta(days=1), end, now)
    served = households_served(start, end)
    by_area: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        by_area[span.area].append(span)
    names = dict(Area.objects.values_list("code", "name"))
    return [
        AreaMonth(code, names.get(code, code), month, indices(by_area[code], count, start, end))
        for code, count in sorted(served.items())
    ]


OPEN_DATA_COLUMNS = [
    "date",
    "area_code",
    "area_name",
    "households_with_devices",
    "interruptions_sustained",
    "interruptions_momentary",
    "households_interrupted",
    "interrupted_minutes_sustained",
    "longest_interruption_minutes",
]


def open_data(first: date, last: date, now: datetime | None = None) -> list[list]:
    """Per area and day (India time) of [first, last]: interruptions that started that day.

    No household or device identity: counts and minutes only. Days without an
    interruption are listed too (with zeros), so a quiet day is data, not a gap.
    """
    zone = timezone.get_current_timezone()
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
    events = [
        i
        for i in interruptions(spans_between(start - timedelta(days=1), end, now))
        if start <= i.start < end
    ]
    served = households_served(start, end)
    names = dict(Area.objects.values_list("code", "name"))
    by_key: dict[tuple[date, str], list] = defaultdict(list)
    for event in events:
        by_key[(timezone.localtime(event.start, zone).date(), event.area)].append(event)
    rows = []
    day = first
    while day <= last:
        for code in sorted(served):
            found = by_key.get((day, code), [])
            sustained = [e for e in found if e.sustained]
            minutes = sum(e.duration.total_seconds() for e in sustained) / 60
            longest = max((e.duration.total_seconds() for e in found), default=0) / 60
            rows.append(
                [
                    day.isoformat(),
                    code,
                    names.get(code, code),
                    served[code],
                    len(sustained),
                    len(found) - len(sustained),
                    len({e.household for e in found}),
                    f"{minutes:.1f}",
                    f"{longest:.1f}",
                ]
            )
        day += timedelta(days=1)
    return rows
