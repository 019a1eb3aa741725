"""Payouts: made once a day from balances, reviewed along the only transitions, exported."""

import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from payouts import accrual, creation, evidence, export, models, review
from payouts.models import (
    HouseholdBalance,
    LedgerEntry,
    Payout,
    PayoutState,
    PayoutTransition,
    RefusedOutage,
)
from payouts.tests.test_accrual import at, cut
from policy.models import Policy

pytestmark = pytest.mark.django_db

UPI_RRN = "412345678901"  # a UPI payment's reference: 12 digits


def pays_to(household, method="upi", **fields):
    """Give `household` a payout destination (alice@okbank by UPI unless told otherwise)."""
    defaults = {
        "upi": {"upi_id": "alice@okbank"},
        "bank": {
            "bank_account": "123456784321",
            "ifsc": "HDFC0001234",
            "account_holder": "Alice Rao",
        },
        "bill": {"consumer_number": "0123456789"},
    }[method]
    household.payout_method = method
    for name, value in {**defaults, **fields}.items():
        setattr(household, f"payout_{name}", value)
    household.save()
    return household


@pytest.fixture
def earned(alice, register_device):
    """alice after the spec's one-hour cut: Rs 14.004438 in her balance; paid by UPI."""
    pays_to(alice)
    cut(register_device(alice)[0], 0, 3600)
    accrual.accrue(now=at(3601))
    return alice


def balance(household) -> Decimal:
    return HouseholdBalance.objects.get(household=household).amount


def ledger_sum(household) -> Decimal:
    # Summed here, exactly: SQLite's SUM goes through floating point.
    return sum(LedgerEntry.objects.filter(household=household).values_list("amount", flat=True))


REJECTED_AT = at(9000)  # after the day's run at 7,200 s, before the next day's


def refuse(payout, by, reason="Meter tampered with"):
    return review.transition(payout.pk, "rejected", by, reason, rejection="refuse")


def give_back(payout, by, reason="Wrong account details"):
    return review.transition(payout.pk, "rejected", by, reason, rejection="return")


def test_a_balance_becomes_a_payout_of_whole_paise_once_a_day(earned):
    (payout,) = creation.create_payouts(now=at(7200))

    assert payout.amount == Decimal("14.00") and payout.state == PayoutState.AWAITING
    assert balance(earned) == Decimal("0.004438") == ledger_sum(earned)  # the remainder stays
    entry = LedgerEntry.objects.get(payout=payout)
    assert entry.kind == "payout" and entry.amount == Decimal("-14.00")
    # Again the same day (India): nothing new, nothing posted.
    assert creation.create_payouts(now=at(7300)) == []
    assert Payout.objects.count() == 1 and balance(earned) == Decimal("0.004438")


def test_a_balance_under_the_minimum_waits(earned):
    assert creation.create_payouts(now=at(7200), at_least=Decimal(15)) == []
    assert balance(earned) == Decimal("14.004438")
    with pytest.raises(review.PayoutError):
        creation.create_payouts(now=at(7200), at_least=Decimal("0.001"))


def test_the_next_payout_covers_from_the_previous_one(earned, register_device):
    first = creation.create_payouts(now=at(7200))[0]
    review.transition(first.pk, "approved", earned)
    cut(earned.devices.get(), 8000, 3600, seq0=10000)
    accrual.accrue(now=at(11601))

    (second,) = creation.create_payouts(now=at(7200) + timedelta(days=1))

    assert second.covers_from == first.created_at
    shown = evidence.evidence(second)
    assert [row["outage"].started_at for row in shown["outages"]] == [at(8000)]
    assert shown["outages_total"] + shown["carried"] == second.amount
    # 0.004438 left by the first payout came in; 0.008876 stays for the next.
    assert shown["carried"] == Decimal("-0.004438")
    assert balance(earned) == Decimal("0.008876")


def test_approve_then_pay_records_who_when_from_to_and_note(earned, board_staff):
    payout = creation.create_payouts(now=at(7200))[0]

    review.transition(payout.pk, "approved", board_staff)
    paid = review.transition(payout.pk, "paid", board_staff, f" {UPI_RRN} ")

    assert paid.state == "paid" and paid.reference == UPI_RRN
    assert paid.decided_by == board_staff == paid.paid_by
    steps = list(PayoutTransition.objects.values_list("from_state", "to_state", "by", "note"))
    assert steps == [
        ("awaiting", "approved", board_staff.pk, ""),
        ("approved", "paid", board_staff.pk, UPI_RRN),
    ]
    assert balance(earned) == Decimal("0.004438")  # paying moves no money twice


@pytest.mark.parametrize(
    ("path", "to", "note", "why"),
    [
        ([], "paid", "ref", "awaiting review: it cannot be marked paid"),
        ([], "rejected", "  ", "Give a reason"),
        (["approved"], "paid", "", "Give the payment's reference"),
        (["approved", f"paid:{UPI_RRN}"], "rejected", "late", "paid: it cannot be rejected"),
        (["rejected:dup"], "approved", "", "rejected: it cannot be approved"),
        (["approved"], "approved", "", "approved: it cannot be approved"),
    ],
)
def test_illegal_steps_are_refused_and_change_nothing(earned, board_staff, path, to, note, why):
    payout = creation.create_payouts(now=at(7200))[0]

    def step(to, note):
        kind = "return" if to == "rejected" else ""
        return review.transition(payout.pk, to, board_staff, note, rejection=kind)

    for taken in path:
        state, _, text = taken.partition(":")
        step(state, text)
    before = (Payout.objects.get().state, PayoutTransition.objects.count(), ledger_sum(earned))

    with pytest.raises(review.PayoutError, match=why):
        step(to, note)

    assert (Payout.objects.get().state, PayoutTransition.objects.count(), ledger_sum(earned)) == (
        before
    )


def test_a_rejection_gives_the_money_back_with_the_reason(earned, board_staff):
    payout = creation.create_payouts(now=at(7200))[0]

    give_back(payout, board_staff, "Meter tampered with")

    reversal = LedgerEntry.objects.get(kind="reversal")
    assert reversal.amount == Decimal("14.00") and "Meter tampered with" in reversal.note
    assert balance(earned) == Decimal("14.004438") == ledger_sum(earned)
    assert Payout.objects.get().reason == "Meter tampered with"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("to", ["approved", "paid", "rejected"])
def test_two_reviewers_at_once_make_one_transition(earned, board_staff, django_user_model, to):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    other = django_user_model.objects.create_user("board2", is_staff=True)
    payout = creation.create_payouts(now=at(7200))[0]
    if to == "paid":
        review.transition(payout.pk, "approved", board_staff)
    barrier = threading.Barrier(2)
    outcomes = []

    def step(user):
        try:
            barrier.wait()
            kind = "refuse" if to == "rejected" else ""  # the heaviest step: one refusal
            review.transition(payout.pk, to, user, UPI_RRN, rejection=kind)
            outcomes.append("moved")
        except review.PayoutError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=step, args=(u,)) for u in (board_staff, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes)[-1] == "moved" and outcomes.count("moved") == 1
    assert PayoutTransition.objects.filter(to_state=to).count() == 1
    if to == "rejected":
        assert LedgerEntry.objects.filter(kind__in=["reversal", "adjustment"]).count() == 2
        assert RefusedOutage.objects.count() == 1
        assert balance(earned) == ledger_sum(earned) == 0


def test_export_has_approved_payouts_only_and_no_formulas(earned, board_staff):
    earned.first_name = "=HYPERLINK(1)"
    earned.save()
    payout = creation.create_payouts(now=at(7200))[0]

    with pytest.raises(review.PayoutError, match="not approved: #"):
        export.export_csv(Payout.objects.all())[0]
    review.transition(payout.pk, "approved", board_staff)
    rows = list(csv.reader(io.StringIO(export.export_csv(Payout.objects.all())[0])))

    assert rows[0] == export.CSV_HEADER
    assert rows[1] == [
        str(payout.pk),
        "alice",
        "'=HYPERLINK(1)",
        "alice@example.com",
        "upi",
        "alice@okbank",
        "",
        "",
        "",
        "",
        "14.00",
        "2026-11-27",
    ]


@pytest.mark.parametrize(
    ("method", "columns"),
    [
        ("upi", {"upi_id": "alice@okbank"}),
        (
            "bank",
            {
                "account_number": "123456784321",
                "ifsc": "HDFC0001234",
                "account_holder": "Alice Rao",
            },
        ),
        ("bill", {"consumer_number": "0123456789"}),
    ],
)
def test_the_export_gives_each_method_its_own_columns(earned, board_staff, method, columns):
    pays_to(earned, method)
    payout = creation.create_payouts(now=at(7200))[0]
    review.transition(payout.pk, "approved", board_staff)

    (row,) = csv.DictReader(io.StringIO(export.export_csv(Payout.objects.all())[0]))

    assert row["method"] == method
    named = {"upi_id", "account_number", "ifsc", "account_holder", "consumer_number"}
    assert {k: v for k, v in row.items() if k in named and v} == columns


def test_the_export_neutralises_formulas_in_what_households_typed(earned, board_staff):
    pays_to(earned, "bank", account_holder="=cmd|' /C calc'!A0")
    payout = creation.create_payouts(now=at(7200))[0]
    review.transition(payout.pk, "approved", board_staff)

    (row,) = csv.DictReader(io.StringIO(export.export_csv(Payout.objects.all())[0]))

    assert row["account_holder"] == "'=cmd|' /C calc'!A0"


def test_no_approval_without_a_destination_and_the_reviewer_is_told_why(earned, board_staff):
    earned.payout_method = ""
    earned.save()
    payout = creation.create_payouts(now=at(7200))[0]

    with pytest.raises(review.PayoutError) as refused:
        review.transition(payout.pk, "approved", board_staff)

    assert str(refused.value) == (
        f"Payout #{payout.pk}: alice has no payout destination: "
        "ask the household to set one at /accounts/payout-details/"
    )
    assert Payout.objects.get().state == "awaiting" and PayoutTransition.objects.count() == 0


def test_an_incomplete_destination_is_no_destination(earned, board_staff):
    pays_to(earned, "bank", account_holder="")  # e.g. converted from the old free text
    payout = creation.create_payouts(now=at(7200))[0]

    with pytest.raises(review.PayoutError, match=r"no usable payout destination .*name"):
        review.transition(payout.pk, "approved", board_staff)

    assert not earned.payout_destination_ready() and earned.payout_destination_label() == ""


def test_what_was_approved_is_exported_and_paid_whatever_the_household_sets_later(
    earned, board_staff
):
    payout = creation.create_payouts(now=at(7200))[0]
    approved = review.transition(payout.pk, "approved", board_staff)
    pays_to(earned, "bill")  # afterwards: a credit on the bill instead

    (row,) = csv.DictReader(io.StringIO(export.export_csv(Payout.objects.all())[0]))

    assert approved.destination().label() == "UPI to alice@okbank"
    assert (row["method"], row["upi_id"], row["consumer_number"]) == ("upi", "alice@okbank", "")
    with pytest.raises(review.PayoutError, match="goes by UPI"):
        review.transition(payout.pk, "paid", board_staff, "TNPDCL/CR/2026-118")
    assert review.transition(payout.pk, "paid", board_staff, UPI_RRN).state == "paid"


@pytest.mark.parametrize(
    ("method", "reference", "stored"),
    [
        ("upi", UPI_RRN, UPI_RRN),
        ("upi", " 412345678901 ", UPI_RRN),
        ("upi", "UPI 20261128-77", None),
        ("upi", "41234567890", None),  # 11 digits
        ("upi", "4123456789012", None),  # 13 digits
        ("bank", "HDFCN52026112812345", "HDFCN52026112812345"),
        ("bank", "hdfcr52026112812345678", "HDFCR52026112812345678"),  # RTGS: 22
        ("bank", "123456789012", "123456789012"),  # IMPS: 12 digits
        ("bank", "NEFT 123", None),
        ("bank", "HDFCN5202611281234567890", None),  # 24
        ("bill", "TNPDCL/CR/2026-118", "TNPDCL/CR/2026-118"),
        ("bill", "CR-0042", "CR-0042"),
        ("bill", UPI_RRN, None),  # a bare 12-digit number is a UPI reference
        ("bill", "CR1", None),
        ("bill", "credit note 42", None),
    ],
)
def test_the_reference_must_have_its_methods_shape(earned, board_staff, method, reference, stored):
    pays_to(earned, method)
    payout = creation.create_payouts(now=at(7200))[0]
    review.transition(payout.pk, "approved", board_staff)

    if stored is None:
        with pytest.raises(review.PayoutError) as refused:
            review.transition(payout.pk, "paid", board_staff, reference)
        shape = {"upi": "12 digits", "bank": "12 to 22 letters or digits", "bill": "4 to 40"}
        assert shape[method] in str(refused.value)
        assert Payout.objects.get().state == "approved"
    else:
        assert review.transition(payout.pk, "paid", board_staff, reference).reference == stored


def test_a_payout_approved_before_destinations_were_recorded_is_neither_paid_nor_exported(
    earned, board_staff
):
    payout = creation.create_payouts(now=at(7200))[0]
    review.transition(payout.pk, "approved", board_staff)
    Payout.objects.filter(pk=payout.pk).update(destination_method="", destination_upi_id="")

    with pytest.raises(review.PayoutError, match="no destination recorded: reject it"):
        review.transition(payout.pk, "paid", board_staff, UPI_RRN)
    with pytest.raises(review.PayoutError, match="no destination recorded"):
        export.export_csv(Payout.objects.all())[0]
    assert give_back(payout, board_staff, "No destination").state == "rejected"


def test_the_policy_never_approves_a_payout_to_nowhere(alice, bob, register_device):
    """The policy pays the only household of an area automatically; alice has a destination,
    bob none: hers is approved at once to it, his waits with a flag saying why."""
    Policy.objects.update(uncorroborated_outages="pay")
    pays_to(alice)
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)
    accrual.accrue(now=at(3601))

    made = {p.household.username: p for p in creation.create_payouts(now=at(7200))}

    assert made["alice"].state == "approved"
    assert Payout.objects.get(pk=made["alice"].pk).destination().label() == "UPI to alice@okbank"
    assert made["bob"].state == "awaiting"
    assert made["bob"].transitions.count() == 0
    assert (
        "no payout destination: awaiting review until the household sets one at "
        "/accounts/payout-details/" in Payout.objects.get(pk=made["bob"].pk).flags
    )


def test_the_command_makes_todays_payouts(earned, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("create_payouts", "--minimum", "5")

    assert "1 payout(s) awaiting review, Rs 14.00 in all." in capsys.readouterr().out
    with pytest.raises(CommandError, match="must be an amount"):
        call_command("create_payouts", "--minimum", "lots")


def test_the_names_before_2026_11_30_still_make_payouts(earned, capsys):
    """An operator's cron job (`make_payouts`) and a beat of the previous release during a
    rolling update (its task's old name) still make the day's payouts, once."""
    from celery import current_app
    from django.core.management import call_command

    import payouts.tasks  # noqa: F401  (registers the tasks, as a worker does)

    call_command("make_payouts", "--minimum", "5")
    assert "1 payout(s) awaiting review" in capsys.readouterr().out
    old_task = current_app.tasks["payouts.tasks.make_payouts"]
    assert old_task.apply().get() == {"payouts": 0, "amount": "0"}  # made already today


def test_the_command_says_how_many_the_policy_approved_and_how_many_await_review(
    alice, bob, register_device, capsys
):
    from django.core.management import call_command

    Policy.objects.update(uncorroborated_outages="pay")
    pays_to(alice)  # approved at once; bob has no destination: he waits
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)
    accrual.accrue(now=at(3601))

    with time_machine.travel(at(7200), tick=False):
        call_command("create_payouts")

    assert (
        "1 payout(s) approved by the policy and 1 awaiting review, Rs 28.00 in all."
        in capsys.readouterr().out
    )


def test_a_rejection_must_say_which_it_is(earned, board_staff):
    payout = creation.create_payouts(now=at(7200))[0]

    with pytest.raises(review.PayoutError, match=r"return .* to the balance, or refuse"):
        review.transition(payout.pk, "rejected", board_staff, "Meter tampered with")
    with pytest.raises(review.PayoutError, match=r"return .* to the balance, or refuse"):
        review.transition(
            payout.pk, "rejected", board_staff, "Meter tampered with", rejection="later"
        )
    with pytest.raises(review.PayoutError, match="Only a rejection"):
        review.transition(payout.pk, "approved", board_staff, rejection="return")

    assert Payout.objects.get().state == "awaiting" and PayoutTransition.objects.count() == 0
    assert ledger_sum(earned) == balance(earned) == Decimal("0.004438")


def test_a_payout_returned_to_the_balance_waits_for_review_next_time(
    earned, board_staff, time_machine
):
    """Issue 15: the policy pays the area's only household at once; board staff reject the
    payout, returning it (wrong account details); the next day's run pays that money again
    with a new cut's, and must not approve it by itself: it waits for review, says which
    rejected payout it carries, and its evidence shows the outage that payout paid for."""
    Policy.objects.update(uncorroborated_outages="pay")
    (first,) = creation.create_payouts(now=at(7200))
    assert first.state == "approved"  # by the policy
    time_machine.move_to(REJECTED_AT, tick=False)

    rejected = give_back(first, board_staff)

    assert (rejected.state, rejected.rejection) == ("rejected", "return")
    (step,) = rejected.transitions.filter(to_state="rejected")
    assert (step.by, step.rejection, step.note) == (board_staff, "return", "Wrong account details")
    assert balance(earned) == Decimal("14.004438") == ledger_sum(earned)
    cut(earned.devices.get(), 20_000, 600, seq0=10_000)  # a new cut: the policy pays it at once
    accrual.accrue(now=at(20_601))
    (second,) = creation.create_payouts(now=at(7200) + timedelta(days=1))
    assert second.amount == Decimal("16.12")  # 14.00 returned and the new cut's
    assert second.state == "awaiting" and second.transitions.count() == 0
    assert list(second.carries.all()) == [rejected]
    assert (
        f"carries Rs 14.00 returned to the balance by rejected payout #{first.pk}: "
        "awaiting review" in second.flags
    )
    shown = evidence.evidence(second)
    assert [row["outage"].started_at for row in shown["outages"]] == [at(0), at(20_000)]
    assert shown["outages_total"] + shown["carried"] == second.amount
    assert [p.pk for p in shown["carries"]] == [first.pk]
    # Its covers_from skips the payout rejected with return: none before it.
    assert second.covers_from is None


def test_a_payout_returned_after_the_next_was_made_is_carried_by_the_one_after(
    earned, board_staff, time_machine
):
    """The first payout waits for review for days: the second is made meanwhile, then the
    first is returned; the third pays its money, and shows its outage again."""
    (first,) = creation.create_payouts(now=at(7200))
    device = earned.devices.get()
    cut(device, 10_000, 3600, seq0=10_000)
    accrual.accrue(now=at(13_601))
    (second,) = creation.create_payouts(now=at(7200) + timedelta(days=1))
    time_machine.move_to(at(7200) + timedelta(days=1, hours=1), tick=False)
    give_back(first, board_staff)
    review.transition(second.pk, "approved", board_staff)

    (third,) = creation.create_payouts(now=at(7200) + timedelta(days=2))

    assert third.state == "awaiting" and list(third.carries.all()) == [first]
    assert third.covers_from == second.created_at
    shown = evidence.evidence(third)
    assert [row["outage"].started_at for row in shown["outages"]] == [at(0)]
    assert shown["outages_total"] + shown["carried"] == third.amount == Decimal("14.00")


def test_a_returned_payout_is_carried_once(earned, board_staff, time_machine):
    (first,) = creation.create_payouts(now=at(7200))
    time_machine.move_to(REJECTED_AT, tick=False)
    give_back(first, board_staff)
    (second,) = creation.create_payouts(now=at(7200) + timedelta(days=1))
    time_machine.move_to(at(7200) + timedelta(days=1, hours=1), tick=False)
    review.transition(second.pk, "approved", board_staff)
    cut(earned.devices.get(), 100_000, 3600, seq0=10_000)
    accrual.accrue(now=at(103_601))

    (third,) = creation.create_payouts(now=at(7200) + timedelta(days=2))

    assert list(third.carries.all()) == [] and "carries" not in third.flags
    assert [row["outage"].started_at for row in evidence.evidence(third)["outages"]] == [
        at(100_000)
    ]


def test_what_the_policy_withheld_is_not_withheld_again_when_the_payout_comes_back(
    alice, bob, register_device, board_staff, time_machine
):
    """Carol's contradicted hour is withheld by the policy when her first payout is made;
    that payout is returned; her next payout pays the rest again and withholds nothing
    twice."""
    Policy.objects.update(contradicted_outages="withhold", uncorroborated_outages="pay")
    pays_to(alice)
    cut(register_device(alice)[0], 0, 3600)  # uncorroborated: paid
    neighbour = register_device(bob)[0]
    cut(neighbour, 7200, 600, seq0=5000)  # power back at 7,800 while alice is off
    cut(alice.devices.get(), 7000, 3600, seq0=10_000)  # contradicted: withheld
    accrual.accrue(now=at(11_000))
    first = next(p for p in creation.create_payouts(now=at(12_000)) if p.household == alice)
    paid, contradicted = alice.devices.get().outages.order_by("started_at")
    assert "#" + str(contradicted.pk) in LedgerEntry.objects.get(kind="adjustment").note
    time_machine.move_to(at(13_000), tick=False)
    give_back(first, board_staff)

    made = creation.create_payouts(now=at(12_000) + timedelta(days=1))

    second = next(p for p in made if p.household == alice)
    assert second.amount == first.amount
    assert LedgerEntry.objects.filter(household=alice, kind="adjustment").count() == 1
    assert balance(alice) == ledger_sum(alice) < Decimal("0.01")
    shown = evidence.evidence(second)
    assert [row["outage"] for row in shown["outages"]] == [paid]  # nothing left to withhold
    assert shown["withheld"] == 0 and shown["outages_total"] + shown["carried"] == second.amount


def test_a_refused_claim_withholds_its_outages_for_good(earned, board_staff, time_machine):
    """Issue 15: board staff reject a payout, refusing the claim: the money it paid is
    returned and everything the ledger holds for its outages taken back with an adjustment
    naming them; the next day's run pays nothing for them."""
    (payout,) = creation.create_payouts(now=at(7200))
    outage = earned.devices.get().outages.get()
    time_machine.move_to(REJECTED_AT, tick=False)

    rejected = refuse(payout, board_staff)

    assert (rejected.state, rejected.rejection, rejected.reason) == (
        "rejected",
        "refuse",
        "Meter tampered with",
    )
    refusal = RefusedOutage.objects.get()
    assert (refusal.outage, refusal.payout, refusal.by, refusal.at) == (
        outage,
        rejected,
        board_staff,
        REJECTED_AT,
    )
    assert refusal.reason == "Meter tampered with" and refusal.amount == Decimal("14.004438")
    reversal = LedgerEntry.objects.get(kind="reversal")
    assert reversal.amount == Decimal("14.00") and reversal.payout == rejected
    taken = LedgerEntry.objects.get(kind="adjustment")
    assert taken.amount == Decimal("-14.004438") and f"outage #{outage.pk}" in taken.note
    assert taken.created_at == REJECTED_AT and refusal.entry == taken
    assert balance(earned) == Decimal(0) == ledger_sum(earned)
    assert creation.create_payouts(now=at(7200) + timedelta(days=1)) == []
    assert set(models.refused_outage_ids()) == {outage.pk}
    shown = evidence.evidence(rejected)
    assert [row["refusal"] for row in shown["outages"]] == [refusal]


def test_refusing_takes_back_accruals_posted_after_the_payout_was_made(
    alice, register_device, board_staff, time_machine
):
    """An ongoing cut: the payout pays its first hour; the cut goes on and accrues more;
    refusing the claim takes back all of it, and the net effect is what the reviewer saw."""
    pays_to(alice)
    device = register_device(alice)[0]
    seq = cut(device, 0, 3600, power_back=False)
    accrual.accrue(now=at(3601))
    (payout,) = creation.create_payouts(now=at(3700))
    cut(device, 3601, 1800, seq0=seq)
    accrual.accrue(now=at(5500))
    accrued = sum(
        LedgerEntry.objects.filter(kind="accrual").values_list("amount", flat=True), Decimal(0)
    )
    effect = review.rejection_effects(Payout.objects.get())
    time_machine.move_to(at(6000), tick=False)

    refuse(payout, board_staff)

    taken = LedgerEntry.objects.get(kind="adjustment")
    assert taken.amount == -accrued and accrued > Decimal("20")
    assert effect["refuse"]["taken_back"] == accrued
    assert effect["refuse"]["net"] == payout.amount - accrued
    assert effect["return"]["net"] == payout.amount
    assert balance(alice) == ledger_sum(alice) == 0


def test_a_refused_outage_that_accrued_meanwhile_is_withheld_by_the_next_payout(
    earned, board_staff, time_machine
):
    """An accrual run that read before the refusal committed posts once more for the refused
    outage: the next payout takes that back too, naming it."""
    (payout,) = creation.create_payouts(now=at(7200))
    outage = earned.devices.get().outages.get()
    time_machine.move_to(REJECTED_AT, tick=False)
    refuse(payout, board_staff)
    LedgerEntry.objects.create(
        household=earned,
        kind="accrual",
        amount=Decimal("2.50"),
        outage=outage,
        accrual_seq=99,
        created_at=REJECTED_AT,
    )
    accrual.add_to_balances({earned.pk: Decimal("2.50")})
    cut(earned.devices.get(), 20_000, 3600, seq0=10_000)  # a new cut, paid
    accrual.accrue(now=at(23_601))

    (payout,) = creation.create_payouts(now=at(7200) + timedelta(days=1))

    assert payout.amount == Decimal("14.00")
    (taken,) = LedgerEntry.objects.filter(kind="adjustment", payout=payout)
    assert taken.amount == Decimal("-2.50") and f"outage #{outage.pk} refused" in taken.note
    assert f"outage #{outage.pk} refused with payout #" in payout.flags
    assert balance(earned) == Decimal("0.004438") == ledger_sum(earned)
    shown = evidence.evidence(payout)
    assert [
        (row["outage"].started_at, row["amount"], row["withheld"]) for row in shown["outages"]
    ] == [
        (at(0), Decimal("2.50"), Decimal("2.50")),
        (at(20_000), Decimal("14.004438"), 0),
    ]
    assert shown["outages_total"] - shown["withheld"] + shown["carried"] == payout.amount


def test_refusing_a_payout_that_carries_a_returned_one_refuses_both_claims(
    earned, board_staff, time_machine
):
    (first,) = creation.create_payouts(now=at(7200))
    time_machine.move_to(REJECTED_AT, tick=False)
    give_back(first, board_staff)
    cut(earned.devices.get(), 20_000, 1800, seq0=10_000)
    accrual.accrue(now=at(21_801))
    (second,) = creation.create_payouts(now=at(7200) + timedelta(days=1))
    time_machine.move_to(at(7200) + timedelta(days=1, hours=1), tick=False)

    refuse(second, board_staff)

    assert set(RefusedOutage.objects.values_list("outage__started_at", flat=True)) == {
        at(0),
        at(20_000),
    }
    assert balance(earned) == ledger_sum(earned) == 0


def test_a_refused_outage_gets_no_further_accruals(
    alice, register_device, board_staff, time_machine
):
    pays_to(alice)
    device = register_device(alice)[0]
    seq = cut(device, 0, 3600, power_back=False)
    accrual.accrue(now=at(3601))
    (payout,) = creation.create_payouts(now=at(3700))
    time_machine.move_to(at(3800), tick=False)
    refuse(payout, board_staff)
    after_refusal = balance(alice)

    cut(device, 3601, 1800, seq0=seq)  # the cut goes on
    accrual.accrue(now=at(5500))

    assert not LedgerEntry.objects.filter(kind="accrual", created_at__gt=at(3800)).exists()
    assert balance(alice) == after_refusal


def test_a_refused_outage_leaves_room_under_the_monthly_cap(
    earned, register_device, board_staff, time_machine
):
    """A monthly cap of Rs 20: the refused hour (Rs 14.004438) no longer uses its room, so
    the next hour's cut is paid in full."""
    Policy.objects.update(cap_per_month=Decimal(20))
    (payout,) = creation.create_payouts(now=at(7200))
    time_machine.move_to(REJECTED_AT, tick=False)
    refuse(payout, board_staff)
    accrual.accrue(now=at(9100))

    cut(earned.devices.get(), 10_000, 3600, seq0=10_000)
    accrual.accrue(now=at(13_601))
    second = earned.devices.get().outages.order_by("started_at").last()

    paid = LedgerEntry.objects.filter(outage=second, kind="accrual").values_list(
        "amount", flat=True
    )
    assert sum(paid, Decimal(0)) == Decimal("14.004438")


def test_bill_credit_references_differing_only_in_case_are_one_reference(
    earned, bob, register_device, board_staff
):
    """A billing system's credit reference is one reference however it is typed: stored in
    capitals, as UTRs are, and refused for a second payout in any case."""
    pays_to(earned, "bill")
    pays_to(bob, "bill", consumer_number="9876543210")
    cut(register_device(bob)[0], 0, 3600)
    accrual.accrue(now=at(3601))
    first, second = sorted(creation.create_payouts(now=at(7200)), key=lambda p: p.pk)
    for payout in (first, second):
        review.transition(payout.pk, "approved", board_staff)

    paid = review.transition(first.pk, "paid", board_staff, "cr-2026/001")

    assert paid.reference == "CR-2026/001"
    with pytest.raises(review.PayoutError, match=f"already marks payout #{first.pk} paid"):
        review.transition(second.pk, "paid", board_staff, "CR-2026/001")
    with pytest.raises(review.PayoutError, match=f"already marks payout #{first.pk} paid"):
        review.transition(second.pk, "paid", board_staff, "Cr-2026/001")
    assert Payout.objects.get(pk=second.pk).state == "approved"


def test_an_approval_names_the_whole_destination_it_was_shown(earned, board_staff):
    """`seen_destination` is a fingerprint of every field: a label that reads the same
    ("account ending 4321 (HDFC0001234)") is not enough."""
    pays_to(earned, "bank")
    shown = earned.payout_destination()
    (payout,) = creation.create_payouts(now=at(7200))
    pays_to(earned, "bank", bank_account="555555554321")  # the same label

    assert earned.payout_destination().label() == shown.label()
    with pytest.raises(review.PayoutError, match="changed where it goes"):
        review.transition(payout.pk, "approved", board_staff, seen_destination=shown.label())
    with pytest.raises(review.PayoutError, match="changed where it goes"):
        review.transition(payout.pk, "approved", board_staff, seen_destination=shown.fingerprint())
    approved = review.transition(
        payout.pk,
        "approved",
        board_staff,
        seen_destination=earned.payout_destination().fingerprint(),
    )
    assert approved.destination_bank_account == "555555554321"


def test_an_export_and_the_banks_return_are_in_the_review_history(earned, board_staff):
    (payout,) = creation.create_payouts(now=at(7200))
    review.transition(payout.pk, "approved", board_staff)

    export.export_csv(Payout.objects.all(), by=board_staff)
    with pytest.raises(review.PayoutError, match="Nothing selected can be exported"):
        export.export_csv(Payout.objects.all(), by=board_staff)  # once, and once recorded
    review.transition(
        payout.pk, "rejected", board_staff, "Account closed", rejection="return", bank_returned=True
    )

    steps = list(
        PayoutTransition.objects.order_by("at", "pk").values_list(
            "kind", "from_state", "to_state", "by", "bank_returned"
        )
    )
    assert steps == [
        ("step", "awaiting", "approved", board_staff.pk, False),
        ("export", "approved", "approved", board_staff.pk, False),
        ("step", "approved", "rejected", board_staff.pk, True),
    ]


def test_a_rejection_records_no_bank_return_for_a_payout_never_exported(earned, board_staff):
    (payout,) = creation.create_payouts(now=at(7200))

    review.transition(
        payout.pk, "rejected", board_staff, "Duplicate", rejection="return", bank_returned=True
    )

    assert not PayoutTransition.objects.get().bank_returned  # it never went to a bank


def test_what_a_payout_left_in_the_balance_is_read_back_for_payouts_made_before_it_was_kept(
    earned, register_device
):
    first = creation.create_payouts(now=at(7200))[0]
    cut(earned.devices.get(), 8000, 3600, seq0=10000)
    accrual.accrue(now=at(11601))
    (second,) = creation.create_payouts(now=at(7200) + timedelta(days=1))
    kept = [(p.left_in_balance, evidence.evidence(p)) for p in (first, second)]

    Payout.objects.update(left_in_balance=None)  # as payouts made before 0023 are

    for (left, shown), payout in zip(kept, (first, second), strict=True):
        again = evidence.evidence(Payout.objects.get(pk=payout.pk))
        assert again["left_for_next"] == left == shown["left_for_next"]
        assert again["from_before"] == shown["from_before"]
        assert (
            shown["outages_total"] - shown["withheld"] + shown["from_before"] - left
            == payout.amount
        )
    assert [left for left, _ in kept] == [Decimal("0.004438"), Decimal("0.008876")]
