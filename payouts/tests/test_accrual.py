import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts import accrual, apps
from payouts.compensation import household_owed
from payouts.models import AccrualState, HouseholdBalance, LedgerEntry

T0 = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def cut(device, start: int, length: int, seq0: int = 1, power_back: bool = True):
    """Off ticks each second from `start`, then `on` at start + length: `length` s witnessed."""
    ticks = [Tick(seq=seq0 + i, ts=at(start + i), power="off") for i in range(length)]
    last = Tick(seq=seq0 + length, ts=at(start + length), power="on" if power_back else "off")
    store_ticks({device.pk: [*ticks, last]}, received_at=at(start + length))
    return seq0 + length + 1


def ledger_total(household) -> Decimal:
    return LedgerEntry.objects.filter(household=household).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal(0)


def closed_form(household, now) -> Decimal:
    facts = accrual.facts_for(accrual.Q(device__household=household))
    owed = household_owed(list(facts.values()), accrual.current_policies(), now).by_outage
    return sum(owed.values(), Decimal(0))


@pytest.fixture
def device(alice, register_device):
    return register_device(alice)[0]


@pytest.mark.django_db
def test_it_posts_what_an_outage_is_owed_and_nothing_twice(alice, device):
    cut(device, 0, 3600)

    first = accrual.accrue(now=at(4000))
    again = accrual.accrue(now=at(4001))

    assert ledger_total(alice) == Decimal("14.004438")
    assert len(first.posted) == 1 and again.posted == {}
    assert HouseholdBalance.objects.get(household=alice).amount == Decimal("14.004438")
    assert alice.pk in first.households


@pytest.mark.django_db
def test_an_ongoing_outage_is_posted_as_it_grows(alice, device):
    cut(device, 0, 600, power_back=False)
    accrual.accrue(now=at(601))
    seq = cut(device, 601, 600, seq0=1000, power_back=False)

    accrual.accrue(now=at(1202))

    entries = list(
        LedgerEntry.objects.order_by("accrual_seq").values_list("accrual_seq", flat=True)
    )
    assert entries == [1, 2]
    assert ledger_total(alice) == closed_form(alice, at(1202))
    assert seq > 1000


@pytest.mark.django_db
def test_a_repeated_post_is_refused_by_the_database(alice, device):
    cut(device, 0, 60)
    accrual.accrue(now=at(100))
    entry = LedgerEntry.objects.get()

    with pytest.raises(DatabaseError), transaction.atomic():
        LedgerEntry.objects.create(
            household=alice, kind="accrual", amount=Decimal(1), outage=entry.outage, accrual_seq=1
        )


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(st.tuples(st.integers(1, 900), st.integers(0, 300)), min_size=1, max_size=4),
    runs=st.lists(
        st.tuples(st.integers(0, 6000), st.sampled_from(["ok", "ok", "repeat", "killed"])),
        max_size=12,
    ),
)
def test_any_schedule_of_runs_ends_at_the_closed_form(
    django_user_model, register_device, cuts, runs
):
    # Hypothesis runs every example in one test transaction: each gets its own savepoint.
    with transaction.atomic():
        household = django_user_model.objects.create_user("household")
        device, _ = register_device(household)
        start, seq = 0, 1
        for length, pause in cuts:
            seq = cut(device, start, length, seq0=seq)
            start += length + 2 + pause

        for moment, how in sorted(runs):
            if how == "killed":
                # A run that dies after computing, before committing, changes nothing.
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(accrual, "_apply_to_states_and_balances", _die)
                    with pytest.raises(RuntimeError):
                        accrual.accrue(now=at(moment))
            else:
                accrual.accrue(now=at(moment))
                if how == "repeat":
                    accrual.accrue(now=at(moment))
        final = at(7000)
        accrual.accrue(now=final)

        total = ledger_total(household)
        assert total == closed_form(household, final)
        assert HouseholdBalance.objects.get(household=household).amount == total
        assert (
            AccrualState.objects.filter(household=household).aggregate(s=Sum("posted"))["s"]
            == total
        )
        transaction.set_rollback(True)


def _die(*args, **kwargs):
    raise RuntimeError("killed")


@pytest.mark.django_db
def test_ledger_rows_cannot_be_changed_through_the_orm(alice, device):
    cut(device, 0, 60)
    accrual.accrue(now=at(100))
    entry = LedgerEntry.objects.get()

    with pytest.raises(TypeError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal(1000))
    with pytest.raises(TypeError):
        LedgerEntry.objects.all().delete()
    with pytest.raises(TypeError):
        entry.delete()
    entry.amount = Decimal(1000)
    with pytest.raises(TypeError):
        entry.save()


@pytest.mark.django_db
@pytest.mark.parametrize("statement", ["UPDATE {t} SET amount = 1000", "DELETE FROM {t}"])
def test_ledger_rows_cannot_be_changed_through_raw_sql(alice, device, statement):
    cut(device, 0, 60)
    accrual.accrue(now=at(100))
    apps.purge_allowed = False
    try:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement.format(t=LedgerEntry._meta.db_table))
    finally:
        apps.purge_allowed = True
    assert LedgerEntry.objects.get().amount != Decimal(1000)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_post_each_amount_once(alice, bob, register_device):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite serialises them)")
    devices = [register_device(alice)[0], register_device(bob, area_code="DL-SKT-007")[0]]
    for d in devices:
        cut(d, 0, 1800, power_back=False)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            accrual.accrue(now=at(1801))
        except Exception as error:  # a deadlock or serialisation failure would be a finding
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    for household in (alice, bob):
        assert ledger_total(household) == closed_form(household, at(1801))
        assert LedgerEntry.objects.filter(household=household).count() == 1


@pytest.mark.django_db
def test_shards_split_households_and_together_post_everything(django_user_model, register_device):
    households = [django_user_model.objects.create_user(f"s{n}") for n in range(4)]
    for household in households:
        cut(register_device(household)[0], 0, 600)

    first = accrual.accrue(now=at(700), shard=0, shards=2)
    second = accrual.accrue(now=at(700), shard=1, shards=2)

    assert {f.household_id % 2 for f in first.facts.values()} == {0}
    assert {f.household_id % 2 for f in second.facts.values()} == {1}
    assert len(first.posted) + len(second.posted) == 4
    for household in households:
        assert ledger_total(household) == closed_form(household, at(700))
    with pytest.raises(ValueError):
        accrual.accrue(now=at(701), shard=2, shards=2)
