"""Payouts: made once a day from balances, reviewed along the only transitions, exported."""

import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from payouts import accrual, payments
from payouts.models import HouseholdBalance, LedgerEntry, Payout, PayoutState, PayoutTransition
from payouts.tests.test_accrual import at, cut

pytestmark = pytest.mark.django_db


@pytest.fixture
def earned(alice, register_device):
    """alice after the spec's one-hour cut: Rs 14.004438 in her balance."""
    cut(register_device(alice)[0], 0, 3600)
    accrual.accrue(now=at(3601))
    return alice


def balance(household) -> Decimal:
    return HouseholdBalance.objects.get(household=household).amount


def ledger_sum(household) -> Decimal:
    # Summed here, exactly: SQLite's SUM goes through floating point.
    return sum(LedgerEntry.objects.filter(household=household).values_list("amount", flat=True))


def test_a_balance_becomes_a_payout_of_whole_paise_once_a_day(earned):
    (payout,) = payments.create_payouts(now=at(7200))

    assert payout.amount == Decimal("14.00") and payout.state == PayoutState.AWAITING
    assert balance(earned) == Decimal("0.004438") == ledger_sum(earned)  # the remainder stays
    entry = LedgerEntry.objects.get(payout=payout)
    assert entry.kind == "payout" and entry.amount == Decimal("-14.00")
    # Again the same day (India): nothing new, nothing posted.
    assert payments.create_payouts(now=at(7300)) == []
    assert Payout.objects.count() == 1 and balance(earned) == Decimal("0.004438")


def test_a_balance_under_the_minimum_waits(earned):
    assert payments.create_payouts(now=at(7200), at_least=Decimal(15)) == []
    assert balance(earned) == Decimal("14.004438")
    with pytest.raises(payments.PayoutError):
        payments.create_payouts(now=at(7200), at_least=Decimal("0.001"))


def test_the_next_payout_covers_from_the_previous_one(earned, register_device):
    first = payments.create_payouts(now=at(7200))[0]
    payments.transition(first.pk, "approved", earned)
    cut(earned.devices.get(), 8000, 3600, seq0=10000)
    accrual.accrue(now=at(11601))

    (second,) = payments.create_payouts(now=at(7200) + timedelta(days=1))

    assert second.covers_from == first.created_at
    shown = payments.evidence(second)
    assert [row["outage"].started_at for row in shown["outages"]] == [at(8000)]
    assert shown["outages_total"] + shown["carried"] == second.amount
    # 0.004438 left by the first payout came in; 0.008876 stays for the next.
    assert shown["carried"] == Decimal("-0.004438")
    assert balance(earned) == Decimal("0.008876")


def test_approve_then_pay_records_who_when_from_to_and_note(earned, board_staff):
    payout = payments.create_payouts(now=at(7200))[0]

    payments.transition(payout.pk, "approved", board_staff)
    paid = payments.transition(payout.pk, "paid", board_staff, "UPI ref 4411")

    assert paid.state == "paid" and paid.reference == "UPI ref 4411"
    assert paid.decided_by == board_staff == paid.paid_by
    steps = list(PayoutTransition.objects.values_list("from_state", "to_state", "by", "note"))
    assert steps == [
        ("awaiting", "approved", board_staff.pk, ""),
        ("approved", "paid", board_staff.pk, "UPI ref 4411"),
    ]
    assert balance(earned) == Decimal("0.004438")  # paying moves no money twice


@pytest.mark.parametrize(
    ("path", "to", "note", "why"),
    [
        ([], "paid", "ref", "awaiting review: it cannot be marked paid"),
        ([], "rejected", "  ", "Give a reason"),
        (["approved"], "paid", "", "Give the payment's reference"),
        (["approved", "paid:ref"], "rejected", "late", "paid: it cannot be rejected"),
        (["rejected:dup"], "approved", "", "rejected: it cannot be approved"),
        (["approved"], "approved", "", "approved: it cannot be approved"),
    ],
)
def test_illegal_steps_are_refused_and_change_nothing(earned, board_staff, path, to, note, why):
    payout = payments.create_payouts(now=at(7200))[0]
    for step in path:
        state, _, text = step.partition(":")
        payments.transition(payout.pk, state, board_staff, text)
    before = (Payout.objects.get().state, PayoutTransition.objects.count(), ledger_sum(earned))

    with pytest.raises(payments.PayoutError, match=why):
        payments.transition(payout.pk, to, board_staff, note)

    assert (Payout.objects.get().state, PayoutTransition.objects.count(), ledger_sum(earned)) == (
        before
    )


def test_a_rejection_gives_the_money_back_with_the_reason(earned, board_staff):
    payout = payments.create_payouts(now=at(7200))[0]

    payments.transition(payout.pk, "rejected", board_staff, "Meter tampered with")

    reversal = LedgerEntry.objects.get(kind="reversal")
    assert reversal.amount == Decimal("14.00") and "Meter tampered with" in reversal.note
    assert balance(earned) == Decimal("14.004438") == ledger_sum(earned)
    assert Payout.objects.get().reason == "Meter tampered with"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("to", ["approved", "paid"])
def test_two_reviewers_at_once_make_one_transition(earned, board_staff, django_user_model, to):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    other = django_user_model.objects.create_user("board2", is_staff=True)
    payout = payments.create_payouts(now=at(7200))[0]
    if to == "paid":
        payments.transition(payout.pk, "approved", board_staff)
    barrier = threading.Barrier(2)
    outcomes = []

    def review(user):
        try:
            barrier.wait()
            payments.transition(payout.pk, to, user, "ref-1")
            outcomes.append("moved")
        except payments.PayoutError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=review, args=(u,)) for u in (board_staff, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes)[-1] == "moved" and outcomes.count("moved") == 1
    assert PayoutTransition.objects.filter(to_state=to).count() == 1


def test_export_has_approved_payouts_only_and_no_formulas(earned, board_staff):
    earned.first_name, earned.payout_method, earned.payout_account = "=HYPERLINK(1)", "upi", "a@upi"
    earned.save()
    payout = payments.create_payouts(now=at(7200))[0]

    with pytest.raises(payments.PayoutError, match="not approved: #"):
        payments.export_csv(Payout.objects.all())
    payments.transition(payout.pk, "approved", board_staff)
    rows = list(csv.reader(io.StringIO(payments.export_csv(Payout.objects.all()))))

    assert rows[0] == payments.CSV_HEADER
    assert rows[1] == [
        str(payout.pk),
        "alice",
        "'=HYPERLINK(1)",
        "alice@example.com",
        "upi",
        "a@upi",
        "14.00",
        "2026-11-27",
    ]


def test_the_command_makes_todays_payouts(earned, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("make_payouts", "--minimum", "5")

    assert "1 payout(s) awaiting review, Rs 14.00 in all." in capsys.readouterr().out
    with pytest.raises(CommandError, match="must be an amount"):
        call_command("make_payouts", "--minimum", "lots")
