from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policy.compensation import (
    OutageFacts,
    Policies,
    Terms,
    household_owed,
    outage_owed,
    still_growing,
    value_per_second,
)

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
T0 = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
DEFAULT = Policies([Terms(effective_from=EPOCH)])
V = value_per_second(Decimal(300), Decimal("6.00"))


def outage(*spans, start=T0, v=V, oid=1, household=1):
    intervals = tuple(
        (start + timedelta(seconds=a), start + timedelta(seconds=b)) for a, b in spans
    )
    return OutageFacts(oid, household, start, v, intervals)


def test_the_spec_example_one_hour_at_300_units_and_6_rupees():
    assert outage_owed(outage((0, 3600)), DEFAULT, T0 + timedelta(hours=2)) == Decimal("14.004438")


def test_it_owes_nothing_for_time_not_yet_reached_or_not_witnessed():
    assert outage_owed(outage((0, 3600)), DEFAULT, T0) == 0
    assert outage_owed(outage(), DEFAULT, T0 + timedelta(hours=1)) == 0


def test_a_silence_neither_pays_nor_raises_the_rate():
    # 30 min witnessed, 10 min of silence, 20 min witnessed: paid as 50 witnessed minutes.
    with_silence = outage((0, 1800), (2400, 3600))
    until = T0 + timedelta(hours=2)

    assert outage_owed(with_silence, DEFAULT, until) == outage_owed(
        outage((0, 3000)), DEFAULT, until
    )


def test_two_witnessed_seconds_after_three_days_of_silence_pay_two_seconds():
    # The attack of issue 15: off ticks 71 h 59 min before and 2 s before, then on.
    claimed = outage((71 * 3600 + 59 * 60 - 2, 71 * 3600 + 59 * 60), start=T0)
    until = T0 + timedelta(hours=72)

    owed = outage_owed(claimed, DEFAULT, until)

    assert owed == outage_owed(outage((0, 2)), DEFAULT, until)
    assert owed < Decimal("0.01")  # not Rs 500


def test_the_escalation_clock_is_the_witnessed_time_before_the_moment():
    facts = outage((0, 600), (3600, 4200))

    assert facts.witnessed_before(T0) == 0
    assert facts.witnessed_before(T0 + timedelta(seconds=300)) == 300
    assert facts.witnessed_before(T0 + timedelta(seconds=2000)) == 600  # silent: it stops
    assert facts.witnessed_before(T0 + timedelta(seconds=3900)) == 900


def test_nothing_is_owed_during_grace():
    graced = Policies([Terms(effective_from=EPOCH, grace_seconds=600)])

    until = T0 + timedelta(hours=1)
    assert outage_owed(outage((0, 600)), graced, until) == 0
    # Grace is witnessed time too: 10 silent minutes do not use it up.
    assert outage_owed(outage((0, 300), (900, 1200)), graced, until) == 0
    after_grace = outage_owed(outage((0, 1200)), DEFAULT, until) - outage_owed(
        outage((0, 600)), DEFAULT, until
    )
    assert abs(outage_owed(outage((0, 1200)), graced, until) - after_grace) <= Decimal("0.000001")


def test_without_escalation_it_is_linear():
    flat = Policies([Terms(effective_from=EPOCH, escalation=Decimal(0), multiplier=Decimal(1))])

    owed = outage_owed(outage((0, 86400)), flat, T0 + timedelta(days=2))

    assert owed == (V * 86400).quantize(Decimal("0.000001"))


def test_delhi_tiers_pay_nothing_the_first_hour_then_50_then_100_an_hour():
    delhi = Policies(
        [
            Terms(
                effective_from=EPOCH,
                kind="tiers",
                tiers=(
                    (Decimal(0), Decimal(0)),
                    (Decimal(1), Decimal(50)),
                    (Decimal(3), Decimal(100)),
                ),
            )
        ]
    )

    assert outage_owed(outage((0, 3600)), delhi, T0 + timedelta(hours=9)) == 0
    assert outage_owed(outage((0, 4 * 3600)), delhi, T0 + timedelta(hours=9)) == Decimal(
        "200.000000"
    )
    assert outage_owed(outage((0, 5400)), delhi, T0 + timedelta(hours=9)) == Decimal("25.000000")


def test_the_cap_per_outage_holds():
    assert outage_owed(outage((0, 30 * 3600)), DEFAULT, T0 + timedelta(days=2)) == Decimal(
        "500.000000"
    )


def test_a_policy_change_mid_outage_applies_only_from_its_effective_time():
    change = T0 + timedelta(minutes=30)
    doubled = Terms(effective_from=change, multiplier=Decimal(10))
    both = Policies([Terms(effective_from=EPOCH), doubled])
    until = T0 + timedelta(hours=2)

    owed = outage_owed(outage((0, 3600)), both, until)

    before = outage_owed(outage((0, 1800)), DEFAULT, until)
    after_at_5 = outage_owed(outage((0, 3600)), DEFAULT, until) - before
    assert abs(owed - (before + 2 * after_at_5)) <= Decimal("0.000002")


def test_a_lower_cap_stops_growth_but_takes_nothing_back():
    lowered = Policies(
        [
            Terms(effective_from=EPOCH),
            Terms(effective_from=T0 + timedelta(hours=1), cap_per_outage=Decimal(5)),
        ]
    )

    owed = outage_owed(outage((0, 3 * 3600)), lowered, T0 + timedelta(hours=4))

    assert owed == Decimal("14.004438")  # earned before the change, kept; nothing after


def test_the_monthly_cap_stops_every_outage_of_the_household_at_once():
    low = Policies([Terms(effective_from=EPOCH, cap_per_month=Decimal(20))])
    first = outage((0, 3600), oid=1)
    second = outage((0, 3600), oid=2, start=T0 + timedelta(minutes=30))
    until = T0 + timedelta(hours=3)

    owed = household_owed([first, second], low, until).by_outage

    assert Decimal("19.999990") <= owed[1] + owed[2] <= Decimal(20)
    # Uncapped they would be 28.01: the first, earlier, keeps more.
    assert owed[1] > owed[2] > 0


def test_an_ongoing_outage_grows_until_a_cap_stops_it():
    low_month = Policies([Terms(effective_from=EPOCH, cap_per_month=Decimal(20))])
    ongoing = replace(outage((0, 600)), ongoing=True)
    ended = outage((0, 600))
    other = outage((0, 3 * 3600), oid=2, start=T0 - timedelta(hours=4))  # took most of the month
    long = replace(outage((0, 30 * 3600)), ongoing=True)  # past its per-outage cap
    until = T0 + timedelta(seconds=600)

    assert still_growing([ongoing], DEFAULT, until)
    assert not still_growing([ended], DEFAULT, until)
    assert not still_growing([long], DEFAULT, T0 + timedelta(hours=30))
    assert still_growing([ongoing], low_month, until)
    assert not still_growing([ongoing, other], low_month, until)


def test_the_monthly_cap_counts_months_in_india():
    low = Policies([Terms(effective_from=EPOCH, cap_per_month=Decimal(10))])
    # 23:30 to 00:30 IST across a month end: each half is in its own month.
    start = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    across = outage((0, 3600), start=start)

    owed = household_owed([across], low, start + timedelta(hours=2)).by_outage[1]

    assert owed == outage_owed(across, DEFAULT, start + timedelta(hours=2))  # 14 < 10 + 10


spans = st.lists(
    st.tuples(st.integers(0, 20 * 3600), st.integers(1, 4 * 3600)), min_size=1, max_size=6
).map(
    lambda rows: tuple(
        sorted({(a, a + d) for a, d in rows})  # overlaps are removed below
    )
)


def disjoint(intervals):
    out, end = [], -1
    for a, b in intervals:
        if a >= end:
            out.append((a, b))
            end = b
    return out


@settings(max_examples=200)
@given(spans, st.integers(0, 30 * 3600), st.integers(0, 30 * 3600))
def test_owed_never_decreases_never_exceeds_the_cap(raw, t1, t2):
    o = outage(*disjoint(raw))
    early, late = sorted((t1, t2))

    a = outage_owed(o, DEFAULT, T0 + timedelta(seconds=early))
    b = outage_owed(o, DEFAULT, T0 + timedelta(seconds=late))

    assert Decimal(0) <= a <= b <= Decimal(500)


@settings(max_examples=50)
@given(st.integers(1, 8 * 3600), st.integers(0, 3600))
def test_the_closed_form_matches_a_numerical_integral(length, start):
    o = outage((start, start + length))
    terms = DEFAULT.versions[0]
    steps = 2000
    width = Decimal(length) / steps
    # The clock counts witnessed seconds: it starts at 0 with the first witnessed second.
    numeric = sum(terms.rate(V, width * (i + Decimal("0.5"))) for i in range(steps)) * width

    closed = outage_owed(o, DEFAULT, T0 + timedelta(days=1))

    assert abs(closed - min(numeric, Decimal(500))) < Decimal("0.0001") * max(Decimal(1), closed)


@pytest.mark.parametrize("monthly_units, tariff", [("300", "6.00"), ("120", "8.5")])
def test_value_per_second(monthly_units, tariff):
    v = value_per_second(Decimal(monthly_units), Decimal(tariff))

    assert v * 30 * 86400 == Decimal(monthly_units) * Decimal(tariff)


@settings(max_examples=150)
@given(
    spans,
    st.integers(0, 24 * 3600),
    st.sampled_from([Decimal(1), Decimal(5), Decimal("7.5")]),
    st.sampled_from([Decimal(0), Decimal("0.1"), Decimal("0.25")]),
)
def test_a_new_version_applies_only_to_time_after_it(raw, change_at, multiplier, escalation):
    change = T0 + timedelta(seconds=change_at)
    big = {"cap_per_outage": Decimal(10**9), "cap_per_month": Decimal(10**9)}
    old = Terms(effective_from=EPOCH, **big)
    new = Terms(effective_from=change, multiplier=multiplier, escalation=escalation, **big)
    intervals = disjoint(raw)
    until = T0 + timedelta(days=2)

    both = outage_owed(outage(*intervals), Policies([old, new]), until)

    # Before the change, the old terms; after it, the new terms, the escalation clock
    # going on from the witnessed seconds before the change.
    facts = outage(*intervals)
    witnessed_at_change = facts.witnessed_before(change)
    witnessed_in_all = facts.witnessed_before(until)
    expected = outage_owed(facts, Policies([old]), change) + new.integral(
        V, witnessed_at_change, witnessed_in_all
    )
    assert abs(both - expected) <= Decimal("0.000001")  # each side rounds to 6 places once
