"""Migrations that change what existing rows mean, checked on rows made before them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from payouts import accrual
from payouts.tests.test_accrual import at, cut

BEFORE = [("payouts", "0017_policy_corroboration_households")]
AFTER = [("payouts", "0018_rejections_return_or_refuse")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def _back_to_the_latest():
    """Leave the test database fully migrated for the tests that follow."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_rejections_made_before_kinds_existed_returned_the_money(alice, register_device):
    """Before 0017, a rejection returned the money: it becomes *return*, carried by the next
    payout made after it; what the policy withheld is read back per outage from the note."""
    cut(register_device(alice)[0], 0, 3600)
    accrual.accrue(now=at(3601))  # Rs 14.004438
    outage = alice.devices.get().outages.get()
    apps = migrate(BEFORE)
    try:
        Payout = apps.get_model("payouts", "Payout")
        LedgerEntry = apps.get_model("payouts", "LedgerEntry")
        Transition = apps.get_model("payouts", "PayoutTransition")
        rejected = Payout.objects.create(
            household_id=alice.pk,
            amount=Decimal("5.00"),
            period=at(7200).date(),
            created_at=at(7200),
            state="rejected",
            reason="Duplicate meters",
            decided_at=at(9000),
        )
        LedgerEntry.objects.create(
            household_id=alice.pk,
            kind="adjustment",
            amount=Decimal("-14.004438"),
            payout_id=rejected.pk,
            created_at=at(7200),
            note=f"Not paid by policy, with payout #{rejected.pk}: "
            f"outage #{outage.pk} contradicted",
        )
        Transition.objects.create(
            payout_id=rejected.pk, from_state="awaiting", to_state="rejected", at=at(9000)
        )
        earlier = Payout.objects.create(
            household_id=alice.pk,
            amount=Decimal("1.00"),
            period=at(0).date() - timedelta(days=1),
            created_at=at(0) - timedelta(days=1),
        )
        later = Payout.objects.create(
            household_id=alice.pk,
            amount=Decimal("5.00"),
            period=at(7200).date() + timedelta(days=1),
            created_at=at(7200) + timedelta(days=1),
        )
    finally:
        apps = migrate(AFTER)

    Payout = apps.get_model("payouts", "Payout")
    assert Payout.objects.get(pk=rejected.pk).rejection == "return"
    assert apps.get_model("payouts", "PayoutTransition").objects.get().rejection == "return"
    assert list(Payout.objects.get(pk=later.pk).carries.values_list("pk", flat=True)) == [
        rejected.pk
    ]
    assert not Payout.objects.get(pk=earlier.pk).carries.exists()
    (withheld,) = apps.get_model("payouts", "WithheldOutage").objects.all()
    assert (withheld.payout_id, withheld.outage_id, withheld.amount) == (
        rejected.pk,
        outage.pk,
        Decimal("14.004438"),
    )


@pytest.mark.django_db(transaction=True)
def test_references_marked_before_are_stored_in_capitals_unless_another_payout_holds_them(
    alice, bob
):
    apps = migrate([("payouts", "0020_accrual_checkpoints")])
    try:
        Payout = apps.get_model("payouts", "Payout")

        def paid(household, day, reference):
            return Payout.objects.create(
                household_id=household.pk,
                amount=Decimal("5.00"),
                period=at(0).date() + timedelta(days=day),
                state="paid",
                destination_method="bill",
                destination_consumer_number="0123456789",
                reference=reference,
            ).pk

        lower = paid(alice, 0, "cr-0042")
        held = paid(alice, 1, "TN/CR/7")
        clash = paid(bob, 1, "tn/cr/7")  # one payment marking two payouts: left to look at
    finally:
        apps = migrate([("payouts", "0021_references_in_capitals")])

    references = dict(apps.get_model("payouts", "Payout").objects.values_list("pk", "reference"))
    assert references == {lower: "CR-0042", held: "TN/CR/7", clash: "tn/cr/7"}


@pytest.mark.django_db(transaction=True)
def test_exports_made_before_are_written_into_the_review_history(alice, board_staff):
    """Before 0022 an export was only `exported_at` and `exported_by`: it becomes a line of
    the history, and a later rejection (which needed the bank's return said) records it."""
    apps = migrate([("payouts", "0021_references_in_capitals")])
    try:
        Payout = apps.get_model("payouts", "Payout")
        Transition = apps.get_model("payouts", "PayoutTransition")

        def exported(day, then):
            payout = Payout.objects.create(
                household_id=alice.pk,
                amount=Decimal("5.00"),
                period=at(0).date() + timedelta(days=day),
                state=then[-1][1],
                exported_at=at(9000 + day * 86400),
                exported_by_id=board_staff.pk,
                **({"reason": "Account closed", "rejection": "return"} if day else {}),
                **({"reference": "412345678901"} if not day else {}),
            )
            for n, (was, to) in enumerate(then):
                Transition.objects.create(
                    payout_id=payout.pk,
                    from_state=was,
                    to_state=to,
                    by_id=board_staff.pk,
                    at=at(8000 + day * 86400 + n * 2000),
                    rejection="return" if to == "rejected" else "",
                )
            return payout.pk

        paid = exported(0, [("awaiting", "approved"), ("approved", "paid")])
        returned = exported(1, [("awaiting", "approved"), ("approved", "rejected")])
    finally:
        apps = migrate([("payouts", "0022_export_and_bank_return_in_the_history")])

    history = apps.get_model("payouts", "PayoutTransition").objects.order_by("at", "pk")
    assert list(
        history.filter(payout_id=paid).values_list("kind", "to_state", "bank_returned")
    ) == [("step", "approved", False), ("export", "approved", False), ("step", "paid", False)]
    assert list(
        history.filter(payout_id=returned).values_list("kind", "to_state", "bank_returned")
    ) == [("step", "approved", False), ("export", "approved", False), ("step", "rejected", True)]
    export = history.get(payout_id=paid, kind="export")
    assert (export.by_id, export.at) == (board_staff.pk, at(9000))
