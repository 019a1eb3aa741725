"""What an outage is owed: the one definition of the money, as pure functions.

Everything that shows or posts an amount (the accrual, the quotes the
dashboard and the API count from, the board, the admin) calls
`household_owed` (the caps of the month applied) or, where no monthly cap can
bite, `outages_owed`; static/js/compensation.js is the page's port of it.

- Value of the lost supply per second: v = monthly_units x tariff / (30 x 86400).
- Compounding policy: rate(s) = v x multiplier x (1 + escalation)^(s / 3600)
  for s >= grace, where s is the outage's witnessed seconds before that
  moment: the escalation clock counts only witnessed time, never silence or
  gaps (time nobody witnessed neither pays nor raises the rate). Tiered
  policy: rupees per hour from witnessed hour h on (a flat schedule, like
  Delhi's), after grace.
- A device's supply value v, like the policy, applies from the moment it is
  changed (`OutageFacts.value_changes`), never to time already witnessed.
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
        """The rate integrated from a to b witnessed seconds into the outage (0 <= a <= b)."""
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
        """Rupees per second after s witnessed seconds of the outage."""
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
    value_per_second: Decimal  # at the outage's start
    intervals: tuple[tuple[datetime, datetime], ...]  # witnessed, in order, not overlapping
    updated_at: datetime | None = None  # when its evidence last changed (not part of the money)
    ongoing: bool = False  # its device still reports the cut (not part of the money)
    # Announced windows of its area overlapping it: (start, end, kind, id), kind "planned"
    # or "exemption" (devices.PlannedCut). The policy says how their time pays.
    windows: tuple[tuple[datetime, datetime, str, int], ...] = ()
    # Changes of the device's supply value during the outage: (from, v), in order.
    value_changes: tuple[tuple[datetime, Decimal], ...] = ()

    def value_at(self, moment: datetime) -> Decimal:
        """The device's supply value per second in force at `moment`."""
        value = self.value_per_second
        for since, changed in self.value_changes:
            if since > moment:
                break
            value = changed
        return value

    def witnessed_before(self, moment: datetime) -> Decimal:
        """The escalation clock at `moment`: witnessed seconds of the outage before it."""
        total = ZERO
        for a, b in self.intervals:
            if a >= moment:
                break
            total += _seconds(min(b, moment) - a)
        return total


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
    """(start, end, terms, supply value, witnessed seconds at start) of the paid witnessed
    time before `until`, in order.

    The escalation clock runs through every witnessed interval, unpaid windows
    included (they are witnessed, only not paid), and stops in the silences.
    """
    unpaid = unpaid_windows(outage, policies) if outage.windows else ()
    witnessed = ZERO
    for a, b in outage.intervals:
        b = min(b, until)
        if b <= a:
            continue
        for c, d in _paid_parts(a, b, unpaid) if unpaid else ((a, b),):
            for e, f, terms in policies.pieces(c, d):
                for g, h, value in _value_pieces(outage, e, f):
                    yield g, h, terms, value, witnessed + _seconds(g - a)
        witnessed += _seconds(b - a)


def _value_pieces(outage: OutageFacts, a: datetime, b: datetime):
    """[a, b] cut where the device's supply value changes, each piece with its value."""
    if not outage.value_changes:
        yield a, b, outage.value_per_second
        return
    start, value = a, outage.value_at(a)
    for since, changed in outage.value_changes:
        if since <= start:
            continue
        if since >= b:
            break
        yield start, since, value
        start, value = since, changed
    yield start, b, value


def _integrate(outage: OutageFacts, policies: Policies, until: datetime) -> Decimal:
    """The integral with the per-outage running cap, unrounded (caller sets the precision)."""
    total = ZERO
    for a, b, terms, value, s_a in _outage_pieces(outage, policies, until):
        piece = terms.integral(value, s_a, s_a + _seconds(b - a))
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
    # The stretches of each month that pay, where the monthly cap stopped growth.
    capped: dict[datetime, list[tuple[datetime, datetime]]] = {}
    for month in months:
        end = min(next_month(month), at)
        if end <= month:
            continue
        paying = _paying(outages, policies, month, end)
        if paying != [(month, end)]:
            capped[month] = paying
    for o in outages:
        if not capped:
            result.by_outage[o.id] = _q(running[o.id])
            continue
        # Sum the outage's months, each over the stretches that pay.
        total = ZERO
        for month in months:
            end = min(next_month(month), at)
            for a, b in capped.get(month, [(month, end)] if end > month else []):
                total += _running(o, policies, b) - _running(o, policies, a)
        result.by_outage[o.id] = _q(total)
    return result


def _paying(
    outages: Sequence[OutageFacts], policies: Policies, month: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches of [month, end) in which the household's month grows: all of it
    until the month's total reaches the monthly cap in force, nothing after.

    Each version's cap applies only from the version's start: a cap lowered below
    what the month has paid stops growth there, taking nothing back; a cap raised
    later lets it grow again from then.
    """

    def total(t: datetime) -> Decimal:
        return sum((_running(o, policies, t) for o in outages), ZERO)

    paying: list[tuple[datetime, datetime]] = []
    paid = ZERO
    for a, b, terms in policies.pieces(month, end):
        room = terms.cap_per_month - paid
        if room <= 0:
            continue
        start, stop, grown = total(a), b, total(b)
        if grown - start > room:
            # The moment the month reaches the cap: growth stops there.
            lo, hi = a, b
            while hi - lo > timedelta(microseconds=1):
                mid = lo + (hi - lo) / 2
                if total(mid) - start <= room:
                    lo = mid
                else:
                    hi = mid
            stop, grown = lo, total(lo)
        paid += grown - start
        if paying and paying[-1][1] == a:
            paying[-1] = (paying[-1][0], stop)
        else:
            paying.append((a, stop))
    return paying


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


@dataclass(frozen=True)
class CutExample:
    """What one cut of a given length pays under one policy version (a preview for board staff)."""

    hours: int
    formula: Decimal  # the rate integrated, before caps
    paid: Decimal  # with the caps: the cut is alone in its month
    capped_by: str  # "", "per outage" or "per month"


def cut_examples(
    terms: Terms,
    monthly_units: Decimal = Decimal(300),
    tariff: Decimal = Decimal(6),
    hours: Sequence[int] = (1, 3, 8),
) -> list[CutExample]:
    """Cuts of these lengths, each witnessed throughout and alone in its month, under `terms`."""
    v = value_per_second(monthly_units, tariff)
    out = []
    with localcontext() as ctx:
        ctx.prec = PRECISION
        for h in hours:
            formula = terms.integral(v, ZERO, Decimal(h) * HOUR)
            paid, capped_by = formula, ""
            if paid > terms.cap_per_outage:
                paid, capped_by = terms.cap_per_outage, "per outage"
            if paid > terms.cap_per_month:
                paid, capped_by = terms.cap_per_month, "per month"
            out.append(CutExample(h, _q(formula), _q(paid), capped_by))
    return out


# The wire form of a quote: the values above as JSON, as the server sends them to the page
# (static/js/compensation.js reads them). Decimals are strings of plain digits (never an
# exponent), instants ISO 8601 strings with microseconds and their offset, pairs and windows
# lists. Each `*_from_json` reads back exactly what its `*_to_json` wrote.


def _iso(moment: datetime) -> str:
    if moment.utcoffset() is None:
        raise ValueError(f"an instant needs its offset: {moment!r}")
    return moment.isoformat(timespec="microseconds")


def _digits(value: Decimal) -> str:
    return format(value, "f")


def terms_to_json(terms: Terms) -> dict:
    """One policy version: every field of `Terms`, `tiers` as [[from hour, per hour], ...]."""
    return {
        "effective_from": _iso(terms.effective_from),
        "kind": terms.kind,
        "grace_seconds": terms.grace_seconds,
        "multiplier": _digits(terms.multiplier),
        "escalation": _digits(terms.escalation),
        "tiers": [[_digits(start), _digits(per_hour)] for start, per_hour in terms.tiers],
        "cap_per_outage": _digits(terms.cap_per_outage),
        "cap_per_month": _digits(terms.cap_per_month),
        "planned_unpaid_seconds": terms.planned_unpaid_seconds,
        "exemptions_pay": terms.exemptions_pay,
        "id": terms.id,
        "name": terms.name,
    }


def terms_from_json(data: dict) -> Terms:
    return Terms(
        effective_from=datetime.fromisoformat(data["effective_from"]),
        kind=data["kind"],
        grace_seconds=data["grace_seconds"],
        multiplier=Decimal(data["multiplier"]),
        escalation=Decimal(data["escalation"]),
        tiers=tuple((Decimal(start), Decimal(per_hour)) for start, per_hour in data["tiers"]),
        cap_per_outage=Decimal(data["cap_per_outage"]),
        cap_per_month=Decimal(data["cap_per_month"]),
        planned_unpaid_seconds=data["planned_unpaid_seconds"],
        exemptions_pay=data["exemptions_pay"],
        id=data["id"],
        name=data["name"],
    )


def facts_to_json(facts: OutageFacts) -> dict:
    """One outage: every field of `OutageFacts`; `intervals` as [[start, end], ...],
    `windows` as [[start, end, kind, id], ...], `value_changes` as [[from, v], ...]."""
    return {
        "id": facts.id,
        "household_id": facts.household_id,
        "started_at": _iso(facts.started_at),
        "value_per_second": _digits(facts.value_per_second),
        "intervals": [[_iso(a), _iso(b)] for a, b in facts.intervals],
        "updated_at": None if facts.updated_at is None else _iso(facts.updated_at),
        "ongoing": facts.ongoing,
        "windows": [[_iso(a), _iso(b), kind, wid] for a, b, kind, wid in facts.windows],
        "value_changes": [[_iso(since), _digits(v)] for since, v in facts.value_changes],
    }


def facts_from_json(data: dict) -> OutageFacts:
    moment = datetime.fromisoformat
    return OutageFacts(
        id=data["id"],
        household_id=data["household_id"],
        started_at=moment(data["started_at"]),
        value_per_second=Decimal(data["value_per_second"]),
        intervals=tuple((moment(a), moment(b)) for a, b in data["intervals"]),
        updated_at=None if data["updated_at"] is None else moment(data["updated_at"]),
        ongoing=data["ongoing"],
        windows=tuple((moment(a), moment(b), kind, wid) for a, b, kind, wid in data["windows"]),
        value_changes=tuple((moment(since), Decimal(v)) for since, v in data["value_changes"]),
    )
