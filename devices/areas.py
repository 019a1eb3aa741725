"""Areas as a whole, read from the database: their outages as spans, households served,
reliability indices, and the open-data table (no household identity in it).

The arithmetic is in devices/reliability.py; this module only gathers.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from devices.models import Area, Device, Outage, OutageStatus
from devices.reliability import Indices, Span, indices, interruptions

# The days whose figures can be asked for: nothing was measured before 2000, and a
# day's bounds in India time, a day either side, must stay inside what datetime holds.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(9998, 12, 31)
DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def parse_day(text: str) -> date:
    """A day written YYYY-MM-DD, from FIRST_DAY to LAST_DAY; ValueError otherwise."""
    found = DAY.fullmatch(text)
    if not found:
        raise ValueError(f"not YYYY-MM-DD: {text!r}")
    return _in_range(date(*(int(part) for part in found.groups())))


def parse_month(text: str) -> date:
    """A month written YYYY-MM (its first day), from FIRST_DAY's to LAST_DAY's; ValueError
    otherwise."""
    found = MONTH.fullmatch(text)
    if not found:
        raise ValueError(f"not YYYY-MM: {text!r}")
    year, month = (int(part) for part in found.groups())
    return _in_range(date(year, month, 1))


def _in_range(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{day} is not from {FIRST_DAY} to {LAST_DAY}")
    return day


def outage_end(status: str, ended_at, last_tick_at, now: datetime) -> datetime:
    """Where an outage's span stops: its on tick; its last tick if contact was lost; now."""
    if ended_at is not None:
        return ended_at
    if status == OutageStatus.LOST_CONTACT:
        return last_tick_at
    return now


def spans_between(
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    area: str | None = None,
    exclude_outages: Iterable[int] | QuerySet | None = None,
) -> list[Span]:
    """Every outage (of `area`, if given) that overlaps [start, end), as spans (ongoing ones
    up to `now`); `exclude_outages` (ids, or a subquery of them) left out: the caller says
    which outages are no evidence (payouts: those whose claim was refused)."""
    now = now or timezone.now()
    outages = Outage.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=start), started_at__lt=end
    )
    if area is not None:
        outages = outages.filter(device__area__code=area)
    if exclude_outages is not None:
        outages = outages.exclude(pk__in=exclude_outages)
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
    served: dict[str, set] = defaultdict(set)
    for area, household, _, _ in _device_spans(start, end):
        served[area].add(household)
    return {area: len(households) for area, households in served.items()}


def households_served_by_day(first: date, last: date) -> dict[tuple[date, str], int]:
    """Households with a device in each area on each day (India time) of [first, last].

    A household counts on a day only if one of its devices was registered
    before the day ended and not revoked before it began.
    """
    zone = timezone.get_current_timezone()
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
    served: dict[tuple[date, str], set] = defaultdict(set)
    for area, household, registered, revoked in _device_spans(start, end):
        day = max(first, timezone.localtime(registered, zone).date())
        until = last if revoked is None else min(last, timezone.localtime(revoked, zone).date())
        while day <= until:
            served[(day, area)].add(household)
            day += timedelta(days=1)
    return {key: len(households) for key, households in served.items()}


def _device_spans(start: datetime, end: datetime):
    """(area, household, registered_at, revoked_at) of every device live at some time in
    [start, end)."""
    return (
        Device.objects.filter(registered_at__lt=end)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=start))
        .values_list("area__code", "household_id", "registered_at", "revoked_at")
    )


def devices_per_area() -> dict[str, int]:
    """Devices not revoked, per area (the board's "devices off of how many")."""
    rows = Device.objects.filter(revoked_at__isnull=True).values_list("area__code", flat=True)
    counts: dict[str, int] = defaultdict(int)
    for area in rows:
        counts[area] += 1
    return counts


def households_per_area() -> dict[str, int]:
    """Households with a device not revoked, per area: who can corroborate a cut there."""
    return dict(
        Device.objects.filter(revoked_at__isnull=True)
        .order_by()
        .values("area__code")
        .annotate(households=Count("household", distinct=True))
        .values_list("area__code", "households")
    )


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
    "note",  # last, so that readers of the older columns are not thrown
]
# k-anonymity: an area with fewer households than this on a day gives no figures for
# that day, since they would be one household's (or two's) cuts.
OPEN_DATA_MIN_HOUSEHOLDS = 3
OPEN_DATA_WITHHELD = f"fewer than {OPEN_DATA_MIN_HOUSEHOLDS} households: figures withheld"


def open_data(first: date, last: date, now: datetime | None = None) -> list[list]:
    """Per area and day (India time) of [first, last]: interruptions that started that day.

    No household or device identity: counts and minutes only, and none at all for an
    area with fewer than OPEN_DATA_MIN_HOUSEHOLDS households that day (its row says
    so; interruptions are per area, so its cuts are in no other row). Days without an
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
    served = households_served_by_day(first, last)
    areas = sorted({code for _, code in served})
    names = dict(Area.objects.values_list("code", "name"))
    by_key: dict[tuple[date, str], list] = defaultdict(list)
    for event in events:
        by_key[(timezone.localtime(event.start, zone).date(), event.area)].append(event)
    rows = []
    day = first
    while day <= last:
        for code in areas:
            households = served.get((day, code), 0)
            found = by_key.get((day, code), [])
            if not households and not found:
                continue  # no household there yet (or any more): nothing to say of that day
            if households < OPEN_DATA_MIN_HOUSEHOLDS:
                rows.append(
                    [day.isoformat(), code, names.get(code, code), *[""] * 6, OPEN_DATA_WITHHELD]
                )
                continue
            sustained = [e for e in found if e.sustained]
            minutes = sum(e.duration.total_seconds() for e in sustained) / 60
            longest = max((e.duration.total_seconds() for e in found), default=0) / 60
            rows.append(
                [
                    day.isoformat(),
                    code,
                    names.get(code, code),
                    households,
                    len(sustained),
                    len(found) - len(sustained),
                    len({e.household for e in found}),
                    f"{minutes:.1f}",
                    f"{longest:.1f}",
                    "",
                ]
            )
        day += timedelta(days=1)
    return rows
