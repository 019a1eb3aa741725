"""Money is stored and summed exactly on both databases (SQLite keeps integers of its unit)."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from payouts.models import EntryKind, HouseholdBalance, LedgerEntry


@pytest.mark.django_db
def test_a_thousand_tenths_of_a_paisa_sum_to_exactly_one_rupee(alice):
    LedgerEntry.objects.bulk_create(
        LedgerEntry(household=alice, kind=EntryKind.ADJUSTMENT, amount=Decimal("0.001"))
        for _ in range(1000)
    )
    LedgerEntry.objects.create(household=alice, kind=EntryKind.ADJUSTMENT, amount=Decimal("0.1"))
    LedgerEntry.objects.create(household=alice, kind=EntryKind.ADJUSTMENT, amount=Decimal("0.2"))

    total = LedgerEntry.objects.filter(household=alice).aggregate(t=Sum("amount"))["t"]

    assert total == Decimal("1.3") and isinstance(total, Decimal)
    assert LedgerEntry.objects.filter(amount=Decimal("0.1")).count() == 1
    assert LedgerEntry.objects.filter(amount__gt=Decimal("0.15")).count() == 1


@pytest.mark.django_db
def test_large_balances_keep_every_micro_rupee(alice):
    HouseholdBalance.objects.create(household=alice, amount=Decimal("12345678.123457"))

    assert HouseholdBalance.objects.get().amount == Decimal("12345678.123457")


@pytest.mark.django_db
def test_sqlite_keeps_integers_of_micro_rupees(alice):
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps numeric")
    LedgerEntry.objects.create(
        household=alice, kind=EntryKind.ADJUSTMENT, amount=Decimal("14.004438")
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT typeof(amount), amount FROM payouts_ledgerentry")
        assert cursor.fetchone() == ("integer", 14004438)


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_a_sqlite_ledger_of_reals_into_exact_integers(alice):
    if connection.vendor != "sqlite":
        pytest.skip("the conversion is SQLite's")
    call_command("migrate", "payouts", "0015", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO payouts_ledgerentry (household_id, kind, amount, created_at, note) "
            "VALUES (%s, 'adjustment', 14.004438, '2026-11-27 09:00:00', '')",
            [alice.pk],
        )
        cursor.execute("SELECT typeof(amount) FROM payouts_ledgerentry")
        assert cursor.fetchone() == ("real",)

    call_command("migrate", verbosity=0)

    assert LedgerEntry.objects.get().amount == Decimal("14.004438")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert {"ledger_no_update", "ledger_no_delete"} <= {row[0] for row in cursor.fetchall()}
