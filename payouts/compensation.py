"""What an outage is owed: the one definition of the money, as pure functions.

Everything that shows or posts an amount (the accrual task, the dashboard,
the admin, the API) calls `outage_owed` or `household_owed`.

- Value of the lost supply per second: v = monthly_units x tariff / (30 x 86400).
- Compounding policy: rate(s) = v x multiplier x (1 + escalation)^(s / 3600)
  for s >= grace, s seconds after the outage began. Tiered policy: rupees
  per hour from hour h on (a flat schedule, like Delhi's), after grace.
- Owed = the integral of the rate over the witnessed intervals, in closed
  form, piece by piece where policy versions change: each version applies
  only to time after its `effective_from`.
- Caps are running caps: the per-outage total stops growing at the cap in
  force (a later, higher cap lets it grow again; nothing is taken back), and
  so does a household's total per calendar month (Asia/Kolkata), all its
  outages stopping at the moment the month's total reaches the cap.
- Decimal throughout (28 significant digits inside); results have 6 places.
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from zoneinfo import ZoneInfo

PLACES = Decimal("0.000001")
ZERO = Decimal(0)
HOUR = Decimal(3600)
SECONDS_PER_MONTH = Decimal(30 * 86400)
MONTH_ZONE = ZoneInfo("Asia/Kolkata")
PRECISION = 28  # amounts need 9 digits; 28 leaves room for the cancellation in e^kb - e^ka


@dataclass(frozen=True)
class Terms:
    """One policy version, as plain values."""

    effective_from: datetime
    kind: str = "compounding"  # or "tiers"
    grace_seconds: int = 0
    multiplier: Decimal = Decimal(5)
    escalation: Decimal = Decimal("0.25")
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()  # (from hour, rupees per hour), ascending
    cap_per_outage: Decimal = Decimal(500)
    cap_per_month: Decimal = Decimal(3000)
    # Announced windows (devices.PlannedCut): how their time pays.
    planned_unpaid_seconds: int = 0  # from a planned cut's start, this long pays nothing
    exemptions_pay: bool = False  # time inside an exemption pays only if this is set
    id: int | None = None
    name: str = ""

    @functools.cached_property
    def log_growth(self) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return (1 + self.escalation).ln()

    def integral(self, value_per_second: Decimal, a: Decimal, b: Decimal) -> Decimal:
        """The rate integrated from a to b seconds after the outage began (0 <= a <= b)."""
        a = max(a, Decimal(self.grace_seconds))
        if b <= a:
            return ZERO
        if self.kind == "tiers":
            return self._tiers_integral(a, b)
        base = value_per_second * self.multiplier
        if self.escalation == 0:
            return base * (b - a)
        k = self.log_growth / HOUR
        return base * ((k * b).exp() - _exp(k * a)) / k

    def rate(self, value_per_second: Decimal, s: Decimal) -> Decimal:
        """Rupees per second, s seconds after the outage began."""
        if s < self.grace_seconds:
            return ZERO
        if self.kind == "tiers":
            return self._tier_at(s) / HOUR
        return value_per_second * self.multiplier * (self.log_growth * s / HOUR).exp()

    def _tier_at(self, s: Decimal) -> Decimal:
        hour = s / HOUR
        current = ZERO
        for start, per_hour in self.tiers:
            if hour >= start:
                current = per_hour
        return current

    def _tiers_integral(self, a: Decimal, b: Decimal) -> Decimal:
        total = ZERO
        bounds = [start * HOUR for start, _ in self.tiers] + [b]
        for (_, per_hour), lo, hi in zip(self.tiers, bounds, bounds[1:], strict=False):
            lo, hi = max(lo, a), min(hi, b)
            if hi > lo:
                total += per_hour * (hi - lo) / HOUR
        return total


@functools.lru_cache(maxsize=200_000)
def _exp(x: Decimal) -> Decimal:
    # Interval starts repeat from one accrual run to the next: remember them.
    return x.exp()


@dataclass(frozen=True)
class OutageFacts:
    """An outage as the money sees it."""

    id: int
    household_id: int
    started_at: datetime
    value_per_second: Decimal
    intervals: tuple[tuple[datetime, datetime], ...]  # witnessed, in order, not overlapping
    updated_at: datetime | None = None  # when its evidence last changed (not part of the money)
    ongoing: bool = False  # its device still reports the cut (not part of the money)
    # Announced windows of its area overlapping it: (start, end, kind, id), kind "planned"
    # or "exemption" (devices.PlannedCut). The policy says how their time pays.
    windows: tuple[tuple[datetime, datetime, str, int], ...] = ()


def value_per_second(monthly_units: Decimal, tariff: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return monthly_units * tariff / SECONDS_PER_MONTH


class Policies:
    """The policy versions, ordered, with what is in force when."""

    def __init__(self, versions: Iterable[Terms]):
        self.versions = sorted(versions, key=lambda t: t.effective_from)
        if not self.versions:
            raise ValueError("no compensation policy is defined")
        self._starts = [t.effective_from for t in self.versions]

    def at(self, moment: datetime) -> Terms:
        index = bisect.bisect_right(self._starts, moment) - 1
        return self.versions[max(index, 0)]  # before the first version, the first applies

    def pieces(self, a: datetime, b: datetime) -> list[tuple[datetime, datetime, Terms]]:
        """[a, b] cut where versions change, each piece with its version."""
        if a >= self._starts[-1]:
            return [(a, b, self.versions[-1])]  # the usual case: all under the latest version
        out, start = [], a
        index = max(bisect.bisect_right(self._starts, a) - 1, 0)
        while start < b:
            nxt = self._starts[index + 1] if index + 1 < len(self._starts) else None
            end = min(b, nxt) if nxt and nxt > start else b
            out.append((start, end, self.versions[index]))
            start = end
            index += 1 if nxt and end == nxt else 0
        return out


def _seconds(delta: timedelta) -> Decimal:
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def _q(amount: Decimal) -> Decimal:
    return amount.quantize(PLACES, rounding=ROUND_HALF_EVEN)


def unpaid_windows(
    outage: OutageFacts, policies: Policies
) -> list[tuple[datetime, datetime, tuple]]:
    """The parts of the outage's announced windows that pay nothing, each with its window.

    A planned cut pays nothing for the first `planned_unpaid_seconds` from its
    start, an exemption nothing at all unless `exemptions_pay`: both as the
    policy version in force when the window starts says.
    """
    unpaid = []
    for window in outage.windows:
        start, end, kind, _ = window
        terms = policies.at(start)
        if kind == "planned":
            stop = min(end, start + timedelta(seconds=terms.planned_unpaid_seconds))
        else:
            stop = start if terms.exemptions_pay else end
        if stop > start:
            unpaid.append((start, stop, window))
    return sorted(unpaid, key=lambda u: u[0])


def _paid_parts(a: datetime, b: datetime, unpaid) -> list[tuple[datetime, datetime]]:
    """[a, b] less the unpaid stretches (sorted by start)."""
    parts, cursor = [], a
    for start, stop, _ in unpaid:
        if stop <= cursor or start >= b:
            continue
        if start > cursor:
            parts.append((cursor, start))
        cursor = max(cursor, stop)
        if cursor >= b:
            break
    if cursor < b:
        parts.append((cursor, b))
    return parts


def _outage_pieces(outage: OutageFacts, policies: Policies, until: datetime):
    """(start, end, terms) of the paid witnessed time before `until`, in order."""
    unpaid = unpaid_windows(outage, policies) if outage.windows else ()
    for a, b in outage.intervals:
        b = min(b, until)
        if b <= a:
            continue
        for c, d in _paid_parts(a, b, unpaid) if unpaid else ((a, b),):
            yield from policies.pieces(c, d)


def _integrate(outage: OutageFacts, policies: Policies, until: datetime) -> Decimal:
    """The integral with the per-outage running cap, unrounded (caller sets the precision)."""
    total = ZERO
    for a, b, terms in _outage_pieces(outage, policies, until):
        s_a = _seconds(a - outage.started_at)
        s_b = _seconds(b - outage.started_at)
        piece = terms.integral(outage.value_per_second, s_a, s_b)
        total = max(total, min(total + piece, terms.cap_per_outage))
    return total


def _running(outage: OutageFacts, policies: Policies, until: datetime) -> Decimal:
    """Owed before the monthly cap, unrounded."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return _integrate(outage, policies, until)


def outage_owed(outage: OutageFacts, policies: Policies, at: datetime) -> Decimal:
    """Owed for one outage up to `at` with the per-outage cap (monthly: `household_owed`)."""
    return _q(_running(outage, policies, at))


def outages_owed(
    outages: Iterable[OutageFacts], policies: Policies, at: datetime
) -> dict[int, Decimal]:
    """`outage_owed` of many outages (one precision context for all of them)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return {
            o.id: _integrate(o, policies, at).quantize(PLACES, rounding=ROUND_HALF_EVEN)
            for o in outages
        }


def month_start(moment: datetime) -> datetime:
    local = moment.astimezone(MONTH_ZONE)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


@dataclass
class HouseholdOwed:
    by_outage: dict[int, Decimal] = field(default_factory=dict)


def household_owed(
    outages: Sequence[OutageFacts], policies: Policies, at: datetime
) -> HouseholdOwed:
    """Owed per outage of one household up to `at`, with both caps.

    `outages` must be every outage of the household with witnessed time in
    the months concerned (the monthly cap depends on all of them).
    """
    result = HouseholdOwed()
    running = {o.id: _running(o, policies, at) for o in outages}
    months = sorted(
        {month_start(a) for o in outages for a, b in o.intervals if a < at}
        | {month_start(min(b, at)) for o in outages for a, b in o.intervals if a < at}
    )
    stop_at: dict[int, list[tuple[datetime, datetime, datetime]]] = defaultdict(list)
    for month in months:
        end = min(next_month(month), at)
        if end <= month:
            continue

        def month_total(t: datetime, month=month) -> Decimal:
            return sum(
                (_running(o, policies, t) - _running(o, policies, month) for o in outages), ZERO
            )

        cap = policies.at(end - timedelta(microseconds=1)).cap_per_month
        if month_total(end) <= cap:
            continue
        # The moment the month's total reaches the cap: everything stops there.
        lo, hi = month, end
        while hi - lo > timedelta(microseconds=1):
            mid = lo + (hi - lo) / 2
            if month_total(mid) <= cap:
                lo = mid
            else:
                hi = mid
        for o in outages:
            stop_at[o.id].append((month, next_month(month), lo))
    for o in outages:
        if not stop_at[o.id]:
            result.by_outage[o.id] = _q(running[o.id])
            continue
        # Sum the outage's months, each stopped where its month hit the cap.
        total, cursor = ZERO, None
        for month in months:
            stop = next((s for m, _, s in stop_at[o.id] if m == month), None)
            month_end = min(next_month(month), at)
            upto = stop if stop is not None else month_end
            total += _running(o, policies, upto) - _running(o, policies, month)
            cursor = upto
        result.by_outage[o.id] = _q(total if cursor is not None else running[o.id])
    return result


def still_growing(
    outages: Sequence[OutageFacts],
    policies: Policies,
    at: datetime,
    owed_now: dict[int, Decimal] | None = None,
) -> bool:
    """Whether one more witnessed second of the ongoing outages would pay anything.

    False once the caps (per outage, or the household's month) have stopped
    them: the household's rate is then zero, whatever the formula's rate is.
    `outages` are all the household's outages in the months concerned;
    `owed_now`, their `household_owed` at `at` if the caller has it already.
    """
    later = at + timedelta(seconds=1)
    extended = []
    for o in outages:
        if o.ongoing and o.intervals:
            a, b = o.intervals[-1]
            o = replace(o, intervals=(*o.intervals[:-1], (a, b + timedelta(seconds=1))))
        extended.append(o)
    if owed_now is None:
        owed_now = household_owed(outages, policies, at).by_outage
    now_total = sum((owed_now[o.id] for o in outages), ZERO)
    later_total = sum(household_owed(extended, policies, later).by_outage.values(), ZERO)
    return later_total > now_total
