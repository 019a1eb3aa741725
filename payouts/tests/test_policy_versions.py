"""A policy version applies forward only: the ledger never decreases because of one.

The admin and the model refuse a start before now (test_admin.py); these versions are
written straight through the ORM, as a script or a stale form might, to show that the
accrual holds the line by itself: a version counts only from when it was saved.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payouts import accrual
from payouts.models import LedgerEntry
from payouts.tests.test_accrual import at, cut, ledger_total
from policy.compensation import (
    OutageFacts,
    Policies,
    household_owed,
    outage_owed,
    value_per_second,
)
from policy.models import Policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(alice, register_device):
    return register_device(alice)[0]


def owed_under_the_default(household, until) -> Decimal:
    """What the default policy alone owes for the household's outages up to `until`."""
    facts = accrual.facts_for(accrual.Q(device__household=household))
    owed = household_owed(list(facts.values()), Policies([accrual.default_terms()]), until)
    return sum(owed.by_outage.values(), Decimal(0))


def accrue_through_a_cut_with_a_version_saved_at_700(device, time_machine, **version):
    """A cut from 0 s, posted at 601 s; the version saved at 700 s; posted again at 1202 s."""
    cut(device, 0, 600, power_back=False)
    accrual.accrue(now=at(601))
    time_machine.move_to(at(700), tick=False)
    Policy.objects.create(name="Saved at 700 s", **version)
    cut(device, 601, 600, seq0=1000, power_back=False)
    accrual.accrue(now=at(1202))


def test_a_version_backdated_to_pay_nothing_takes_back_nothing(alice, device, time_machine):
    accrue_through_a_cut_with_a_version_saved_at_700(
        device, time_machine, effective_from=at(-3600), multiplier=0
    )

    amounts = list(LedgerEntry.objects.order_by("accrual_seq").values_list("amount", flat=True))
    assert len(amounts) == 2 and all(amount > 0 for amount in amounts)
    # The default pays up to 700 s, when the version was saved; multiplier 0 after it.
    assert ledger_total(alice) == owed_under_the_default(alice, at(700))


def test_a_version_backdated_into_the_cut_changes_only_time_after_it_was_saved(
    alice, device, time_machine
):
    accrue_through_a_cut_with_a_version_saved_at_700(
        device, time_machine, effective_from=at(300), multiplier=50
    )

    assert ledger_total(alice) > owed_under_the_default(alice, at(1201))  # paid more after 700
    terms = Policy.objects.get(name="Saved at 700 s").terms()
    assert terms.effective_from == at(700)


def test_a_lower_monthly_cap_from_now_on_takes_back_nothing(alice, device, time_machine):
    posted = {}
    cut(device, 0, 600, power_back=False)
    accrual.accrue(now=at(601))
    posted[601] = ledger_total(alice)
    time_machine.move_to(at(700), tick=False)
    Policy.objects.create(
        name="Low monthly cap", effective_from=at(700), cap_per_month=Decimal("0.50")
    )
    cut(device, 601, 600, seq0=1000, power_back=False)

    accrual.accrue(now=at(1202))

    assert posted[601] > Decimal("0.50")  # already past the new cap when it was saved
    assert all(amount > 0 for amount in LedgerEntry.objects.values_list("amount", flat=True))
    assert ledger_total(alice) >= posted[601]


# The money alone (no database): an outage from 21:00 India time on 30 November, 6 hours,
# across the month's end; a household of 300 kWh a month at Rs 6.
START = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
V = value_per_second(Decimal(300), Decimal(6))
BASELINE = Policy(name="Default", effective_from=datetime(2000, 1, 1, tzinfo=UTC))


def outage(hours: float) -> OutageFacts:
    return OutageFacts(1, 1, START, V, ((START, START + hours * HOUR),), ongoing=True)


def owed(versions: list[Policy], at: datetime) -> Decimal:
    policies = Policies([BASELINE.terms(baseline=True), *(p.terms() for p in versions)])
    return household_owed([outage(6)], policies, at).by_outage[1]


def test_a_monthly_cap_raised_later_lets_the_month_grow_again_from_then():
    low = Policy(name="Low", effective_from=START - HOUR, cap_per_month=Decimal(1))
    low.created_at = START - HOUR
    high = Policy(name="High", effective_from=START + 2 * HOUR, cap_per_month=Decimal(3000))
    high.created_at = START - HOUR

    at_2h, at_2_5h = owed([low, high], START + 2 * HOUR), owed([low, high], START + 2.5 * HOUR)

    assert at_2h == Decimal("1.000000")  # stopped at the low cap within the first hour
    unlimited = Policies([BASELINE.terms(baseline=True)])
    grown = outage_owed(outage(6), unlimited, START + 2.5 * HOUR) - outage_owed(
        outage(6), unlimited, START + 2 * HOUR
    )
    assert abs(at_2_5h - at_2h - grown) <= Decimal("0.000002")  # growing again from 2 h


versions = st.lists(
    st.builds(
        dict,
        saved=st.integers(0, 6 * 3600),  # seconds into the cut
        starts=st.integers(-86_400, 6 * 3600),  # may be before it was saved
        multiplier=st.sampled_from([Decimal(0), Decimal(1), Decimal(50)]),
        cap_per_month=st.sampled_from([Decimal("0.5"), Decimal(3), Decimal(3000)]),
        cap_per_outage=st.sampled_from([Decimal(1), Decimal(500)]),
    ),
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(versions=versions, times=st.lists(st.integers(0, 6 * 3600), min_size=2, max_size=5))
def test_whatever_versions_are_saved_when_what_is_owed_never_goes_down(versions, times):
    """Versions become visible as they are saved; what is owed at each later run is never
    less than at an earlier one (the accrual posts the difference: never negative)."""
    saved = []
    for v in versions:
        policy = Policy(
            name="v",
            effective_from=START + timedelta(seconds=v["starts"]),
            multiplier=v["multiplier"],
            cap_per_month=v["cap_per_month"],
            cap_per_outage=v["cap_per_outage"],
        )
        policy.created_at = START + timedelta(seconds=v["saved"])
        saved.append(policy)
    before = Decimal(0)
    for seconds in sorted(times):
        now = START + timedelta(seconds=seconds)
        now_owed = owed([p for p in saved if p.created_at <= now], now)
        assert now_owed >= before
        before = now_owed
