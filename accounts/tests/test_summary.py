"""The household summary: what the dashboard renders and /api/me/summary returns."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts import charts
from accounts.summary import household_summary
from payouts import accrual, payments
from payouts.models import EntryKind, LedgerEntry, Policy
from payouts.tests.test_accrual import at, closed_form, cut

pytestmark = pytest.mark.django_db


@pytest.fixture
def device(alice, register_device):
    return register_device(alice, name="Home meter")[0]


def test_after_the_specs_one_hour_cut_it_shows_the_specs_amount(alice, device):
    cut(device, 0, 3600)
    accrual.accrue(now=at(3601))

    summary = household_summary(alice, now=at(3605))

    assert summary["balance"] == "14.004438"
    assert summary["rate_per_second"] == "0.000000"
    assert summary["today"] == summary["month"] == "14.004438"
    (outage,) = summary["outages"]
    assert outage["amount"] == "14.004438"
    assert outage["witnessed_seconds"] == "3600.000000"
    assert outage["ticks_received"] == 3600  # the off ticks; the on tick ends it
    assert outage["ended_at"] is not None
    (values,) = summary["device_values"]
    assert values["value_per_second"] == "0.000694"
    assert summary["policy"]["multiplier"] == "5"
    assert summary["policy"]["escalation_percent"] == "25"
    (device_state,) = summary["devices"]
    assert device_state["state"] == "on" and device_state["outage"] is None


def test_during_a_cut_the_balance_is_exact_now_even_before_the_next_run(alice, device):
    cut(device, 0, 600, power_back=False)
    accrual.accrue(now=at(601))
    cut(device, 601, 600, seq0=1000, power_back=False)  # ticks the next run has not posted

    summary = household_summary(alice, now=at(1201))

    assert Decimal(summary["balance"]) == closed_form(alice, at(1201))
    assert Decimal(summary["balance"]) > LedgerEntry.objects.get().amount
    assert Decimal(summary["rate_per_second"]) > 0
    (state,) = summary["devices"]
    assert state["state"] == "off"
    assert state["outage"]["status"] == "ongoing"
    # The device clock on the newest tick counted: what this state reflects.
    assert state["outage"]["last_tick_at"] == at(1201).isoformat()
    assert Decimal(state["outage"]["owed"]) == Decimal(summary["balance"])
    # 1,201 s in at 25 % an hour: 1.25^(1201/3600) = 1.07728 times the starting rate.
    assert state["outage"]["escalation"] == "1.0773"
    assert summary["timeline"] == [
        {
            "outage": state["outage"]["id"],
            "device": "Home meter",
            "from": 32400,
            "to": 33601,
            "ongoing": True,
        }
    ]


def test_at_the_monthly_cap_the_rate_is_zero_though_the_cut_goes_on(alice, device):
    Policy.objects.create(
        name="Low monthly cap", effective_from=at(-86400), cap_per_month=Decimal("0.5")
    )
    cut(device, 0, 600, power_back=False)  # 2.1 rupees uncapped
    accrual.accrue(now=at(601))

    summary = household_summary(alice, now=at(601))

    assert summary["balance"] == "0.500000"
    assert summary["rate_per_second"] == "0.000000"
    (state,) = summary["devices"]
    assert state["state"] == "off"
    assert state["outage"]["rate_per_second"] == "0.000000"
    # The accrual run's broadcast says the same.
    run = accrual.accrue(now=at(602))
    payload = accrual.device_states({alice.pk}, run, accrual.current_policies(), at(602))
    assert payload[alice.pk]["rate_per_second"] == "0.000000"


def test_compensation_per_day_over_thirty_days(alice):
    now = at(0)
    LedgerEntry.objects.create(
        household=alice, kind=EntryKind.ADJUSTMENT, amount=Decimal("2.5"), created_at=now
    )
    LedgerEntry.objects.create(
        household=alice,
        kind=EntryKind.ADJUSTMENT,
        amount=Decimal("1.25"),
        created_at=now - timedelta(days=3),
    )
    LedgerEntry.objects.create(
        household=alice,
        kind=EntryKind.ADJUSTMENT,
        amount=Decimal("9"),
        created_at=now - timedelta(days=40),  # outside the chart
    )

    summary = household_summary(alice, now=now)

    daily = {d["date"]: d["amount"] for d in summary["daily"]}
    assert len(daily) == 30
    assert daily["2026-11-27"] == "2.500000"
    assert daily["2026-11-24"] == "1.250000"
    assert sum(Decimal(a) for a in daily.values()) == Decimal("3.75")
    assert summary["balance"] == "0.000000"  # nothing is kept in HouseholdBalance here


def test_the_chart_scales_the_best_day_to_full_height():
    bars = charts.daily_bars(
        [
            {"date": "2026-11-01", "amount": "0"},
            {"date": "2026-11-02", "amount": "4.5"},
            {"date": "2026-11-03", "amount": "1.5"},
        ]
    )["bars"]

    assert [b["height"] for b in bars] == [0, 120.0, 40.0]
    assert [b["tick"] for b in bars] == ["", "", "03 Nov"]  # weekly, ending today
    assert bars[1]["y"] == charts.PLOT_TOP


def test_the_api_needs_a_signed_in_household(client):
    response = client.get(reverse("api-summary"))

    assert response.status_code == 401
    assert response.json() == {"error": "Sign in first."}


def test_the_api_and_the_dashboard_agree_and_show_only_ones_own(client, alice, bob, device):
    cut(device, 0, 3600)
    accrual.accrue(now=at(4000))

    client.force_login(bob)
    assert client.get(reverse("api-summary")).json()["devices"] == []

    client.force_login(alice)
    state = client.get(reverse("api-summary")).json()
    page = client.get(reverse("dashboard")).content.decode()

    assert state["balance"] == "14.004438"
    assert 'data-balance="14.004438"' in page
    assert ">14.00<" in page  # at rest: two decimals, without script
    assert "Home meter" in page and "Rs 0.000694" in page
    assert "<svg" in page and "Compensation per day" in page
    assert "Rs 14.0044" in page  # the outage's amount in the outages table


def test_the_household_sees_its_payouts_and_their_states(client, alice, board_staff, device):
    cut(device, 0, 3600)
    accrual.accrue(now=at(3601))
    (payout,) = payments.create_payouts(now=at(7200))
    payments.transition(payout.pk, "approved", board_staff)
    payments.transition(payout.pk, "paid", board_staff, "UPI 998877")

    summary = household_summary(alice, now=at(7300))

    (shown,) = summary["payouts"]
    assert (shown["amount"], shown["state"], shown["reference"]) == ("14.00", "paid", "UPI 998877")
    assert shown["paid_at"] is not None
    assert summary["balance"] == "0.004438"
    assert summary["today"] == "14.004438"  # what was earned today, paid out or not
