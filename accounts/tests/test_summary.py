"""The household summary: what the dashboard renders and /api/me/summary returns."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts import charts
from accounts.summary import household_summary, outage_shape
from devices import services
from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts import accrual, creation, quotes, review
from payouts.models import EntryKind, LedgerEntry
from payouts.tests.test_accrual import at, closed_form, cut
from policy.models import Policy

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


def test_a_revoked_device_leaves_the_formula_card(alice, device, register_device):
    register_device(alice, name="Shop meter", units="120", tariff="8.50")
    services.device_revoke(device=device)

    summary = household_summary(alice)

    assert [d["name"] for d in summary["device_values"]] == ["Shop meter"]


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
    Policy.objects.create(  # saved the day before, from then on
        name="Low monthly cap",
        effective_from=at(-86400),
        created_at=at(-86400),
        cap_per_month=Decimal("0.5"),
    )
    cut(device, 0, 600, power_back=False)  # 2.1 rupees uncapped
    accrual.accrue(now=at(601))

    summary = household_summary(alice, now=at(601))

    assert summary["balance"] == "0.500000"
    assert summary["rate_per_second"] == "0.000000"
    (state,) = summary["devices"]
    assert state["state"] == "off"
    assert state["outage"]["rate_per_second"] == "0.000000"
    # The quote the accrual run broadcasts says the same.
    accrual.accrue(now=at(602))
    assert quotes.quote(alice.pk, at(602))["rate_per_second"] == "0.000000"


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

    assert [b["percent"] for b in bars] == [0, 100.0, 33.33]
    assert [b["tick"] for b in bars] == ["", "", "03 Nov"]  # weekly, ending today
    assert [b["label"] for b in bars] == ["01 Nov: ₹0.00", "02 Nov: ₹4.50", "03 Nov: ₹1.50"]
    assert [b["today"] for b in bars] == [False, False, True]


def test_the_api_needs_a_signed_in_household(client):
    response = client.get(reverse("api-summary"))

    assert response.status_code == 401
    assert response.json() == {"error": "Sign in first."}


@pytest.mark.parametrize("name", ["api-summary", "api-quote"])
def test_the_api_is_for_households_not_staff_without_a_device(
    client, board_staff, bob, register_device, django_user_model, name
):
    """Board staff and superusers without a device have no balance: a 403 saying whom it is
    for, not a household's zeros. Staff given a device, and households, are answered."""
    root = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-1")
    for staff in (board_staff, root):
        client.force_login(staff)
        refused = client.get(reverse(name))
        assert refused.status_code == 403
        assert refused.json() == {
            "error": "This is for households: this account has no device, so no balance."
        }

    client.force_login(bob)  # a household without a device yet: its zeros are its own
    assert client.get(reverse(name)).status_code == 200
    register_device(board_staff)
    client.force_login(board_staff)
    assert client.get(reverse(name)).status_code == 200


def test_the_api_and_the_dashboard_agree_and_show_only_ones_own(
    client, alice, bob, device, time_machine
):
    cut(device, 0, 3600)
    accrual.accrue(now=at(4000))
    time_machine.move_to(at(4000), tick=False)  # today's and this month's figures are read then

    client.force_login(bob)
    assert client.get(reverse("api-summary")).json()["devices"] == []

    client.force_login(alice)
    state = client.get(reverse("api-summary")).json()
    page = client.get(reverse("dashboard")).content.decode()

    assert state["balance"] == "14.004438"
    assert 'data-balance="14.004438"' in page
    # One format everywhere, without script: ₹ and rupees.paise, the sub-paise digits, the exact
    # 6 places on hover; the same for the balance and the outage's amount.
    money = (
        '<data class="money" value="14.004438" title="₹14.004438">'
        '₹14.00<span class="subpaise">44</span></data>'
    )
    assert page.count(money) >= 4  # balance, today, this month, the outage
    assert "Home meter" in page and "₹0.000694" in page
    assert 'class="daychart-bar today" tabindex="0" aria-label="' in page


def test_the_household_sees_its_payouts_and_their_states(client, alice, board_staff, device):
    cut(device, 0, 3600)
    accrual.accrue(now=at(3601))
    alice.payout_method, alice.payout_upi_id = "upi", "alice@okbank"
    alice.save()
    (payout,) = creation.create_payouts(now=at(7200))
    review.transition(payout.pk, "approved", board_staff)
    review.transition(payout.pk, "paid", board_staff, "998877665544")

    summary = household_summary(alice, now=at(7300))

    (shown,) = summary["payouts"]
    assert (shown["amount"], shown["state"], shown["reference"]) == (
        "14.00",
        "paid",
        "998877665544",
    )
    assert shown["paid_at"] is not None
    assert summary["balance"] == "0.004438"
    assert summary["today"] == "14.004438"  # what was earned today, paid out or not


def test_the_household_sees_which_kind_of_rejection_each_payout_had(
    client, alice, board_staff, device, time_machine
):
    """Issue 15: a payout returned to the balance and one whose claim was refused say so."""
    alice.payout_method, alice.payout_upi_id = "upi", "alice@okbank"
    alice.save()
    cut(device, 0, 3600)
    accrual.accrue(now=at(3601))
    (returned,) = creation.create_payouts(now=at(7200))
    time_machine.move_to(at(9000), tick=False)
    review.transition(returned.pk, "rejected", board_staff, "Wrong UPI ID", rejection="return")
    cut(device, 20_000, 3600, seq0=10_000)
    accrual.accrue(now=at(23_601))
    (refused,) = creation.create_payouts(now=at(7200 + 86400))
    time_machine.move_to(at(7200 + 90000), tick=False)
    review.transition(refused.pk, "rejected", board_staff, "Meter bypassed", rejection="refuse")
    client.force_login(alice)

    shown = {p["id"]: p for p in household_summary(alice, now=at(7200 + 90000))["payouts"]}
    page = client.get(reverse("dashboard")).content.decode()

    assert (shown[returned.pk]["rejection"], shown[refused.pk]["rejection"]) == (
        "return",
        "refuse",
    )
    assert "Rejected, returned to your balance: paid with your next payout. Wrong UPI ID" in page
    assert "Rejected, claim refused: its outages will not be paid. Meter bypassed" in page


def test_a_cut_is_drawn_to_its_own_scale_with_its_silences(client, alice, bob, device):
    # 60 s witnessed, a 180 s silence (over max_gap 120 s), 60 s witnessed, power back.
    seq = cut(device, 0, 60, power_back=False)
    seq = cut(device, 240, 60, seq0=seq)
    outage = device.outages.get()

    shape = outage_shape(alice, outage.pk, now=at(400))

    assert [(w["left"], w["width"]) for w in shape["witnessed"]] == [(0, 20.0), (80.0, 20.0)]
    assert [(s["left"], s["width"]) for s in shape["silences"]] == [(20.0, 60.0)]
    assert shape["owed"] == f"{closed_form(alice, at(400)):.6f}"
    xs = [float(p.split(",")[0]) for p in shape["curve"].split()]
    ys = [float(p.split(",")[1]) for p in shape["curve"].split()]
    assert xs[0] == 0 and xs[-1] == 100 and ys[0] == 100 and ys[-1] == 0
    assert ys == sorted(ys, reverse=True)  # the amount only grows
    flat = [y for x, y in zip(xs, ys, strict=True) if 25 <= x <= 75]
    assert len(set(flat)) == 1  # nothing grows during the silence

    client.force_login(alice)
    page = client.get(reverse("outage", args=[outage.pk]))
    assert page.status_code == 200 and b"The cut to its own scale" in page.content
    client.force_login(bob)
    assert client.get(reverse("outage", args=[outage.pk])).status_code == 404


def test_a_cut_whose_first_tick_just_came_already_pays_a_rate(alice, device):
    store_ticks({device.pk: [Tick(seq=1, ts=at(0), power="off")]}, received_at=at(0))

    state = quotes.quote(alice.pk, at(0.5))

    assert Decimal(state["rate_per_second"]) > 0
