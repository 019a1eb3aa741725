"""Test vectors for the page's port of the money (static/js/compensation.js).

Cases drawn with a fixed seed (no wall clock), each computed by policy/compensation.py, in
the quote's wire form (`terms_to_json`, `facts_to_json`). `python -m
policy.tests.compensation_vectors` writes them to vectors/compensation.json;
test_compensation_vectors.py checks that the file is what this generates (so it never
drifts from the Python), test_compensation_js.py that the page computes the same.

A case: {"kind", its inputs, "expected", "tags"}, the kind one of
- "outage": "policies", "facts", "at"; expected outage_owed (also outages_owed's).
- "household": "policies", "outages", "at"; expected household_owed's by_outage.
- "still_growing": "policies", "outages", "at"; expected still_growing.
- "rate": "terms", "value_per_second", "s"; expected Terms.rate.
- "witnessed_before", "value_at": "facts", "at"; expected OutageFacts's method.
- "arithmetic": "op", "a", "b"; expected the Decimal operation at 28 digits (its str()),
  with ties at the 29th digit that only digits far beyond it decide: where a port that
  truncates, or rounds a truncated quotient, goes wrong.
Amounts are 6-place strings (compensation._q); "tags" say what a case covers (`coverage`).
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from itertools import pairwise
from pathlib import Path

from policy.compensation import (
    OutageFacts,
    Policies,
    Terms,
    _q,
    facts_to_json,
    household_owed,
    month_start,
    outage_owed,
    outages_owed,
    still_growing,
    terms_to_json,
    value_per_second,
)

SEED = 16
PATH = Path(__file__).resolve().parent / "vectors" / "compensation.json"
COUNTS = {
    "outage": 520,
    "household": 260,
    "still_growing": 160,
    "rate": 160,
    "witnessed_before": 40,
    "value_at": 40,
    "arithmetic": 120,
}

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Where cuts start: mid-month, and shortly before months end in India (UTC+05:30).
ANCHORS = (
    datetime(2026, 11, 14, 4, 0, tzinfo=UTC),
    datetime(2027, 3, 9, 22, 15, tzinfo=UTC),
    datetime(2026, 11, 30, 17, 30, tzinfo=UTC),  # 23:00 on 30 November in India
    datetime(2026, 12, 31, 17, 45, tzinfo=UTC),  # 23:15 on 31 December
    datetime(2028, 2, 29, 16, 30, tzinfo=UTC),  # 22:00 on a leap day
)
VALUES = tuple(
    value_per_second(Decimal(units), Decimal(tariff))
    for units, tariff in (("300", "6"), ("120", "8.5"), ("450.5", "7.25"), ("90", "3.10"))
)
MULTIPLIERS = tuple(Decimal(m) for m in ("5", "5", "1", "7.5", "2.25", "10"))
ESCALATIONS = tuple(Decimal(e) for e in ("0.25", "0.25", "0", "0.1", "0.5", "0.0375", "1"))
OUTAGE_CAPS = tuple(Decimal(c) for c in ("500", "500", "20", "5", "12.5", "1000000000"))
MONTH_CAPS = tuple(Decimal(c) for c in ("3000", "3000", "40", "20", "10", "7.5", "1000000000"))
TIERS = tuple(
    tuple((Decimal(start), Decimal(per_hour)) for start, per_hour in schedule)
    for schedule in (
        (("0", "0"), ("1", "50"), ("3", "100")),
        (("0", "2.5"), ("0.5", "12.75"), ("2", "40")),
        (("0", "0"), ("1.25", "33.333333")),
        (("0.75", "18"),),
    )
)
UNLIMITED = Decimal(10**12)


def _moment(rng: random.Random, base: datetime, seconds: float) -> datetime:
    """base plus up to `seconds`, to the microsecond (or, one time in five, the second)."""
    micros = rng.randrange(max(1, int(seconds * 1_000_000)))
    if rng.random() < 0.2:
        micros -= micros % 1_000_000
    return base + timedelta(microseconds=micros)


def _terms(rng: random.Random, effective_from: datetime, number: int, **fixed) -> Terms:
    kind = "tiers" if rng.random() < 0.2 else "compounding"
    drawn = {
        "kind": kind,
        "grace_seconds": rng.choice((0, 0, 0, 300, 600, 1800)),
        "multiplier": rng.choice(MULTIPLIERS),
        "escalation": rng.choice(ESCALATIONS),
        "tiers": rng.choice(TIERS) if kind == "tiers" else (),
        "cap_per_outage": rng.choice(OUTAGE_CAPS),
        "cap_per_month": rng.choice(MONTH_CAPS),
        "planned_unpaid_seconds": rng.choice((0, 1800, 3600, 7200)),
        "exemptions_pay": rng.random() < 0.3,
    }
    drawn.update(fixed)
    return Terms(effective_from=effective_from, id=number, name=f"Version {number}", **drawn)


def _policies(rng: random.Random, start: datetime, end: datetime, **fixed) -> list[Terms]:
    """A baseline version, and sometimes later ones, often starting during [start, end]."""
    versions = [_terms(rng, EPOCH, 1, **fixed)]
    for number in range(2, 2 + rng.choice((0, 0, 1, 1, 2))):
        span = (end - start).total_seconds() + 7200
        versions.append(_terms(rng, _moment(rng, start - timedelta(hours=1), span), number))
    return versions


def _facts(rng: random.Random, oid: int, household: int, start: datetime) -> OutageFacts:
    intervals, cursor = [], start
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        if intervals:
            cursor = _moment(rng, cursor, rng.choice((30, 600, 7200)))  # a silence
        length = rng.choice((2, 900, 3600, 3 * 3600, 8 * 3600))
        end = _moment(rng, cursor, length) + timedelta(microseconds=1)
        intervals.append((cursor, end))
        cursor = end
    span = (cursor - start).total_seconds()
    windows = []  # announced windows of the area: may begin before the cut
    for n in range(rng.choice((0, 0, 0, 1, 2))):
        a = _moment(rng, start - timedelta(minutes=30), span + 1800)
        b = _moment(rng, a, rng.choice((1200, 3 * 3600, 10 * 3600))) + timedelta(microseconds=1)
        windows.append((a, b, rng.choice(("planned", "exemption")), 100 + n))
    changes = sorted(
        (_moment(rng, start, span), rng.choice(VALUES)) for _ in range(rng.choice((0, 0, 0, 1, 2)))
    )
    return OutageFacts(
        id=oid,
        household_id=household,
        started_at=start,
        value_per_second=rng.choice(VALUES),
        intervals=tuple(intervals),
        updated_at=cursor,
        ongoing=rng.random() < 0.35,
        windows=tuple(windows),
        value_changes=tuple(changes),
    )


def _at(rng: random.Random, outages: list[OutageFacts]) -> datetime:
    first = min(o.intervals[0][0] for o in outages)
    last = max(o.intervals[-1][1] for o in outages)
    return rng.choice(
        (
            first - timedelta(seconds=rng.randrange(1, 3600)),
            _moment(rng, first, (last - first).total_seconds()),
            last,
            last + timedelta(seconds=rng.randrange(1, 3600)),
            _moment(rng, last, 3 * 86400),
        )
    )


def _household(rng: random.Random, household: int, next_id: int, ongoing=None):
    """Outages of one household over a few days around a month's end (or mid-month)."""
    anchor = rng.choice(ANCHORS) - timedelta(days=rng.choice((0, 0, 1, 2)))
    outages = []
    for n in range(rng.choice((1, 2, 2, 3, 3, 4))):
        start = _moment(rng, anchor, rng.choice((3600, 86400, 2 * 86400)))
        facts = _facts(rng, next_id + n, household, start)
        outages.append(facts if ongoing is None else replace(facts, ongoing=ongoing))
    outages.sort(key=lambda o: o.started_at)
    first = outages[0].intervals[0][0]
    last = max(o.intervals[-1][1] for o in outages)
    month_caps = {}
    if rng.random() < 0.7:  # caps the month can reach
        month_caps["cap_per_month"] = rng.choice((Decimal(10), Decimal(20), Decimal("37.5")))
    policies = _policies(rng, first, last, **month_caps)
    if rng.random() < 0.35:  # a lower or a higher monthly cap from some moment in the cuts
        lower = rng.random() < 0.5
        cap = Decimal("4.5") if lower else Decimal(3000)
        later = _moment(rng, first, (last - first).total_seconds())
        policies.append(replace(policies[0], effective_from=later, cap_per_month=cap, id=9))
    return outages, policies


def _lifted(policies: list[Terms], **caps) -> Policies:
    return Policies([replace(t, **caps) for t in policies])


def _tags(policies: list[Terms], outages: list[OutageFacts], at: datetime) -> list[str]:
    tags = set()
    for t in policies:
        tags.add(t.kind)
        tags.add("grace" if t.grace_seconds else "no grace")
        if t.kind == "compounding":
            tags.add("escalation 0" if t.escalation == 0 else "escalation")
    ordered = sorted(policies, key=lambda t: t.effective_from)
    for earlier, later in pairwise(ordered):
        if later.effective_from > earlier.effective_from:
            if later.cap_per_month < earlier.cap_per_month:
                tags.add("month cap lowered later")
            if later.cap_per_month > earlier.cap_per_month:
                tags.add("month cap raised later")
    for o in outages:
        a, b = o.intervals[0][0], min(o.intervals[-1][1], at)
        if any(a < t.effective_from < b for t in policies):
            tags.add("policy change mid-outage")
        if any(any(x < since < y for x, y in o.intervals) for since, _ in o.value_changes):
            tags.add("value change mid-outage")
        for _, _, kind, _ in o.windows:
            tags.add(f"{kind} window")
            if kind == "planned" and any(t.planned_unpaid_seconds for t in policies):
                tags.add("planned unpaid seconds")
            if kind == "exemption" and any(t.exemptions_pay for t in policies):
                tags.add("exemptions pay")
        if len(o.intervals) > 1:
            tags.add("silences")
        if o.ongoing:
            tags.add("ongoing")
        if month_start(o.intervals[0][0]) != month_start(o.intervals[-1][1]):
            tags.add("across a month's end")
        moments = [m for pair in o.intervals for m in pair]
        if any(m.microsecond % 1000 for m in moments):
            tags.add("microseconds")
    if at <= min(o.intervals[0][0] for o in outages):
        tags.add("at before the cut")
    elif at < max(o.intervals[-1][1] for o in outages):
        tags.add("at during the cut")
    else:
        tags.add("at after the cut")
    capped = outages_owed(outages, Policies(policies), at)
    free = outages_owed(outages, _lifted(policies, cap_per_outage=UNLIMITED), at)
    if any(capped[o.id] < free[o.id] for o in outages):
        tags.add("cap per outage binds")
    return sorted(tags)


def _month_tags(policies: list[Terms], outages: list[OutageFacts], at: datetime) -> list[str]:
    owed = household_owed(outages, Policies(policies), at).by_outage
    alone = outages_owed(outages, Policies(policies), at)
    if sum(owed.values()) < sum(alone.values()):
        return ["cap per month binds"] + (
            ["outages reach the month cap together"] * (len(owed) > 1)
        )
    return []


def _json(policies, outages) -> dict:
    return {
        "policies": [terms_to_json(t) for t in policies],
        "outages": [facts_to_json(o) for o in outages],
    }


def _outage_case(rng: random.Random, n: int) -> dict:
    facts = _facts(rng, n, n, _moment(rng, rng.choice(ANCHORS), 86400))
    policies = _policies(rng, facts.intervals[0][0], facts.intervals[-1][1])
    at = _at(rng, [facts])
    expected = outage_owed(facts, Policies(policies), at)
    return {
        "kind": "outage",
        "policies": [terms_to_json(t) for t in policies],
        "facts": facts_to_json(facts),
        "at": at.isoformat(timespec="microseconds"),
        "expected": str(expected),
        "tags": _tags(policies, [facts], at),
    }


def _household_case(rng: random.Random, n: int) -> dict:
    outages, policies = _household(rng, n, 10 * n)
    at = _at(rng, outages)
    owed = household_owed(outages, Policies(policies), at).by_outage
    return {
        "kind": "household",
        **_json(policies, outages),
        "at": at.isoformat(timespec="microseconds"),
        "expected": {str(oid): str(amount) for oid, amount in owed.items()},
        "tags": sorted(_tags(policies, outages, at) + _month_tags(policies, outages, at)),
    }


def _still_growing_case(rng: random.Random, n: int) -> dict:
    outages, policies = _household(rng, n, 10 * n)
    ongoing = [o for o in outages if o.ongoing] or outages[-1:]
    # Mostly at an ongoing cut's latest tick, where the page asks; else anywhere.
    at = ongoing[-1].intervals[-1][1] if rng.random() < 0.7 else _at(rng, outages)
    return {
        "kind": "still_growing",
        **_json(policies, outages),
        "at": at.isoformat(timespec="microseconds"),
        "expected": still_growing(outages, Policies(policies), at),
        "tags": sorted(_tags(policies, outages, at) + _month_tags(policies, outages, at)),
    }


def _rate_case(rng: random.Random, n: int) -> dict:
    terms = _terms(rng, EPOCH, n)
    v = rng.choice(VALUES)
    s = rng.choice(
        (
            Decimal(rng.randrange(0, 60 * 3600 * 10**6)) / 10**6,
            Decimal(terms.grace_seconds),
            Decimal(terms.grace_seconds) - Decimal("0.000001"),
            Decimal(3600 * rng.randrange(0, 6)),  # tier boundaries
            Decimal(rng.randrange(0, 4 * 3600)),
        )
    )
    s = max(s, Decimal(0))
    tags = [terms.kind, "grace" if terms.grace_seconds else "no grace"]
    if terms.kind == "compounding":
        tags.append("escalation 0" if terms.escalation == 0 else "escalation")
    return {
        "kind": "rate",
        "terms": terms_to_json(terms),
        "value_per_second": format(v, "f"),
        "s": format(s, "f"),
        "expected": str(_q(terms.rate(v, s))),
        "tags": sorted(tags),
    }


def _clock_case(kind: str):
    def case(rng: random.Random, n: int) -> dict:
        facts = _facts(rng, n, n, _moment(rng, rng.choice(ANCHORS), 86400))
        at = _at(rng, [facts])
        if kind == "witnessed_before":
            expected = facts.witnessed_before(at)
        elif facts.value_changes and rng.random() < 0.5:
            at = rng.choice(facts.value_changes)[0]  # at a change: the new value
            expected = facts.value_at(at)
        else:
            expected = facts.value_at(at)
        return {
            "kind": kind,
            "facts": facts_to_json(facts),
            "at": at.isoformat(timespec="microseconds"),
            "expected": str(_q(expected)),
            "tags": ["value change mid-outage"] * bool(facts.value_changes),
        }

    return case


def _arithmetic_case(rng: random.Random, n: int) -> dict:
    op = ("add", "sub", "mul", "div", "exp", "ln", "places")[n % 7]
    digits = Decimal(rng.randrange(10**27, 10**28)).scaleb(-rng.randrange(20, 32))
    b = Decimal(rng.choice((3, 7, 3600, 1_000_003)))
    tags = []
    beyond = rng.choice((0, 1))  # 0: an exact tie (to even); 1: a 1 far below breaks it
    with localcontext() as ctx:
        ctx.prec = 80  # exact
        if op in ("add", "sub"):  # a + b or a - b: a's 28 digits, then 5, then 0s or a 1
            a = digits
            half = Decimal(5).scaleb(a.adjusted() - 28)
            tiny = beyond * Decimal(1).scaleb(a.adjusted() - 60)
            b = half + tiny if op == "add" else half - tiny
        elif op == "mul":  # 28 digits and a 5, times 1 or a hair more
            a = digits + Decimal(5).scaleb(digits.adjusted() - 28)
            b = 1 + beyond * Decimal(1).scaleb(-40)
        elif op == "div":  # a quotient of 28 digits, a 5, then 0s or, after 45 digits, more
            half = digits + Decimal(5).scaleb(digits.adjusted() - 28)
            a = half * b + beyond * Decimal(1).scaleb(half.adjusted() - 45)
        elif op == "exp":
            a = Decimal(rng.randrange(0, 10**28)).scaleb(-28) * rng.choice((1, 9, 160))
        elif op == "ln":
            a = 1 + Decimal(rng.randrange(1, 10**28)).scaleb(-28)
        else:
            a = Decimal(rng.randrange(10**27, 10**28)).scaleb(-rng.randrange(16, 30))
    with localcontext() as ctx:
        ctx.prec = 28
        result = {
            "add": lambda: a + b,
            "sub": lambda: a - b,
            "mul": lambda: a * b,
            "div": lambda: a / b,
            "exp": lambda: a.exp(),
            "ln": lambda: a.ln(),
            "places": lambda: _q(a),
        }[op]()
    if op in ("add", "sub", "mul", "div"):
        tags.append("tie at the 29th digit")
    return {
        "kind": "arithmetic",
        "op": op,
        "a": str(a),
        "b": str(b),
        "expected": str(result),
        "tags": tags,
    }


MAKERS = {
    "outage": _outage_case,
    "household": _household_case,
    "still_growing": _still_growing_case,
    "rate": _rate_case,
    "witnessed_before": _clock_case("witnessed_before"),
    "value_at": _clock_case("value_at"),
    "arithmetic": _arithmetic_case,
}


def generate(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    return [MAKERS[kind](rng, n + 1) for kind, count in COUNTS.items() for n in range(count)]


def coverage(cases: list[dict]) -> dict[str, int]:
    """How many cases of each kind and with each tag."""
    counts: dict[str, int] = {}
    for case in cases:
        for key in [f"kind {case['kind']}", *case["tags"]]:
            counts[key] = counts.get(key, 0) + 1
        if case["kind"] == "still_growing":
            key = f"still growing {str(case['expected']).lower()}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def render(cases: list[dict], seed: int = SEED) -> str:
    """The file's text: one case a line, so that a change shows as a readable diff."""
    head = json.dumps({"seed": seed, "count": len(cases)})[:-1]
    body = ",\n".join(json.dumps(case, separators=(",", ":")) for case in cases)
    return f'{head}, "cases": [\n{body}\n]}}\n'


if __name__ == "__main__":
    cases = generate()
    PATH.parent.mkdir(exist_ok=True)
    PATH.write_text(render(cases))
    print(f"{len(cases)} cases, {PATH.stat().st_size} bytes: {PATH}")
    for key, count in coverage(cases).items():
        print(f"{count:6}  {key}")
