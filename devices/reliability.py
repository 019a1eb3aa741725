"""What an area's outages say together: corroboration and reliability indices.

Plain functions over plain spans, so that hand-worked scenarios test them
directly (devices/tests/test_reliability.py); the board's views read the
spans from the database and call these.

Reliability indices follow IEEE 1366 (and India's Electricity (Rights of
Consumers) Rules as amended in 2022), over the households with devices in an
area ("customers served"):

- an *interruption* of a household is a stretch of time during which at
  least one of its devices in the area was off (two devices of one
  household off together are one interruption);
- *sustained* when it lasts more than 5 minutes, *momentary* otherwise;
- SAIDI: customer minutes of sustained interruption / customers served;
- SAIFI: customers interrupted (sustained, counted per interruption) /
  customers served;
- CAIDI: SAIDI / SAIFI, the average sustained interruption (none without one);
- MAIFI: momentary interruptions of customers / customers served.

An interruption belongs to the period in which it starts, with its whole
duration (an ongoing one: up to `now`), as IEEE 1366 assigns events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

SUSTAINED_AFTER = timedelta(minutes=5)
PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Span:
    """One device off from `start` to `end`, in an area, for a household."""

    device: int
    household: int
    area: str
    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Interruption:
    household: int
    area: str
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def sustained(self) -> bool:
        return self.duration > SUSTAINED_AFTER


def interruptions(spans: Iterable[Span]) -> list[Interruption]:
    """Each household's off spans in each area, overlapping or touching ones merged."""
    by_household: dict[tuple[int, str], list[Span]] = defaultdict(list)
    for span in spans:
        by_household[(span.household, span.area)].append(span)
    merged: list[Interruption] = []
    for (household, area), own in by_household.items():
        own.sort(key=lambda s: s.start)
        start, end = own[0].start, own[0].end
        for span in own[1:]:
            if span.start <= end:
                end = max(end, span.end)
            else:
                merged.append(Interruption(household, area, start, end))
                start, end = span.start, span.end
        merged.append(Interruption(household, area, start, end))
    return sorted(merged, key=lambda i: (i.area, i.start, i.household))


@dataclass(frozen=True)
class Indices:
    customers: int
    sustained: int  # sustained interruptions of customers
    momentary: int
    customer_minutes: Decimal  # of sustained interruption
    saidi: Decimal | None  # minutes per customer served
    saifi: Decimal | None  # interruptions per customer served
    caidi: Decimal | None  # minutes per sustained interruption
    maifi: Decimal | None  # momentary interruptions per customer served


def _minutes(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) / 60 + Decimal(delta.microseconds) / (
        60 * 10**6
    )


def indices(
    spans: Iterable[Span], customers: int, period_start: datetime, period_end: datetime
) -> Indices:
    """One area's indices over the interruptions that start in [period_start, period_end)."""
    events = [i for i in interruptions(spans) if period_start <= i.start < period_end]
    sustained = [i for i in events if i.sustained]
    momentary = len(events) - len(sustained)
    minutes = sum((_minutes(i.duration) for i in sustained), Decimal(0))

    def per_customer(value: Decimal) -> Decimal | None:
        return (value / customers).quantize(PLACES) if customers else None

    return Indices(
        customers=customers,
        sustained=len(sustained),
        momentary=momentary,
        customer_minutes=minutes.quantize(PLACES),
        saidi=per_customer(minutes),
        saifi=per_customer(Decimal(len(sustained))),
        caidi=(minutes / len(sustained)).quantize(PLACES) if sustained else None,
        maifi=per_customer(Decimal(momentary)),
    )


# Corroboration ---------------------------------------------------------------

CORROBORATED = "corroborated"
UNCORROBORATED = "uncorroborated"
CONTRADICTED = "contradicted"
SINGLE_HOUSEHOLD = "single household"


@dataclass(frozen=True)
class OnReport:
    """A device of an area saying its power was on at `at` (a heartbeat or an on tick)."""

    device: int
    area: str
    at: datetime


def corroboration(
    outage: Span,
    others: Iterable[Span],
    on_reports: Iterable[OnReport],
    households_in_area: int,
    k: int = 2,
    tolerance: timedelta = timedelta(seconds=60),
) -> str:
    """What the rest of the outage's area says about it.

    Households vote, devices do not: a household's own devices off together
    are one voice, so a household cannot corroborate itself.

    - `contradicted`: another device of the area (the household's own other
      devices included: a report is evidence, not a vote) reported power on
      while this one was off, more than `tolerance` from either end (supply
      does not come back to every house in the same second); this wins over
      everything else: the board should look.
    - `single household`: the area has one household with devices; no other
      household could corroborate it.
    - `corroborated`: at least `k` households of the area (this one included)
      had a device off over time overlapping this outage.
    - `uncorroborated`: otherwise.
    """
    for report in on_reports:
        if (
            report.area == outage.area
            and report.device != outage.device
            and outage.start + tolerance <= report.at <= outage.end - tolerance
        ):
            return CONTRADICTED
    if households_in_area < 2:
        return SINGLE_HOUSEHOLD
    off_together = {outage.household} | {
        span.household
        for span in others
        if span.area == outage.area and span.overlaps(outage.start, outage.end)
    }
    return CORROBORATED if len(off_together) >= k else UNCORROBORATED
