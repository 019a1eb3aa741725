import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import services
from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts import accrual, apps, creation, quotes
from payouts.models import AccrualState, HouseholdBalance, LedgerEntry
from policy.compensation import household_owed, value_per_second

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
        total = ledger_total(household)
        assert total == closed_form(household, at(1801))
        assert LedgerEntry.objects.filter(household=household).count() == 1
        # The losing run's insert was dropped: nothing of it reached the totals either.
        state = AccrualState.objects.get(household=household)
        assert (state.posted, state.entries) == (total, 1)
        assert HouseholdBalance.objects.get(household=household).amount == total


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


@pytest.mark.django_db
def test_an_outage_ending_in_the_allowed_future_is_posted_in_full(alice, device):
    # Stored at at(0) with ticks up to 240 s ahead (within the 300 s clock skew).
    ticks = [Tick(seq=1 + i, ts=at(i), power="off") for i in range(240)]
    store_ticks({device.pk: [*ticks, Tick(seq=241, ts=at(240), power="on")]}, received_at=at(0))

    for second in range(1, 400, 10):  # runs every 10 s; the outage is soon past LOOKBACK
        accrual.accrue(now=at(second))

    assert ledger_total(alice) == closed_form(alice, at(400)) > 0


@pytest.mark.django_db
def test_a_new_tariff_applies_from_the_moment_it_is_set_never_to_time_witnessed(
    alice, register_device, time_machine
):
    time_machine.move_to(at(-3600), tick=False)
    device, _ = register_device(alice)
    cut(device, 0, 3600, power_back=False)  # an hour at 300 kWh, Rs 6
    accrual.accrue(now=at(3600))
    posted_before = ledger_total(alice)
    time_machine.move_to(at(3600), tick=False)
    services.device_change_supply(device=device, monthly_units=Decimal(600), tariff=Decimal("6.00"))
    cut(device, 3601, 1800, seq0=5000)  # half an hour more at twice the value, then power back
    accrual.accrue(now=at(5500))

    facts = accrual.facts_for(accrual.Q(device=device))
    (outage,) = facts.values()
    v = value_per_second(Decimal(300), Decimal("6.00"))
    assert outage.value_per_second == v
    assert outage.value_changes == ((at(3600), 2 * v),)
    assert ledger_total(alice) > posted_before
    # The first hour is exactly what it was; only time after the change pays at the new value.
    assert accrual.outages_owed(facts.values(), accrual.current_policies(), at(3600)) == {
        outage.id: posted_before
    }
    assert ledger_total(alice) == closed_form(alice, at(5500))


@pytest.mark.django_db
def test_an_ongoing_outage_is_posted_at_checkpoints_and_in_full_when_it_ends(alice, device):
    seq = cut(device, 0, 100, power_back=False)  # a cut goes on: ticks every second
    accrual.accrue(now=at(100))  # its first run: the cut started (an event)
    first = ledger_total(alice)
    due = AccrualState.objects.get().due_at
    assert at(100) < due <= at(100) + accrual.CHECKPOINT
    for second in range(101, 200, 3):
        seq = cut(device, second - 3, 3, seq0=seq, power_back=False)
        accrual.accrue(now=at(second))
        if at(second) < due:  # not due before its checkpoint: nothing posted
            assert ledger_total(alice) == first
        elif at(second) < due + timedelta(seconds=3):  # the first run at or past it posts
            assert ledger_total(alice) == closed_form(alice, at(second)) > first
    seq = cut(device, 200, 5, seq0=seq)  # power back at 205, between two checkpoints
    accrual.accrue(now=at(206))

    assert first > 0
    assert ledger_total(alice) == closed_form(alice, at(206))
    # The first run, its checkpoint (one or two within the 100 s), the end.
    assert LedgerEntry.objects.filter(household=alice).count() in (3, 4)


@pytest.mark.django_db
def test_a_cut_posts_at_most_one_entry_a_checkpoint(alice, device):
    seq = 1
    for second in range(0, 600, 5):  # ten minutes of ticks, a run every 5 s
        seq = cut(device, second, 5, seq0=seq, power_back=False)
        accrual.accrue(now=at(second + 5))

    entries = LedgerEntry.objects.filter(household=alice).count()
    assert entries <= 600 // accrual.CHECKPOINT.seconds + 1
    # The balance is exact between checkpoints all the same (posted + owed beyond it).
    assert Decimal(quotes.quote(alice.pk, at(600))["balance"]) == closed_form(alice, at(600))


@pytest.mark.django_db
def test_a_payout_never_pays_less_than_owed_at_its_moment(alice, device):
    alice.payout_method, alice.payout_upi_id = "upi", "alice@okbank"
    alice.save()
    cut(device, 0, 3600, power_back=False)
    accrual.accrue(now=at(3000))  # the last checkpoint was 10 minutes ago

    (payout,) = creation.create_payouts(now=at(3600))

    owed = closed_form(alice, at(3600))
    assert payout.amount == owed.quantize(Decimal("0.01"), rounding="ROUND_DOWN")
    assert ledger_total(alice) == owed - payout.amount  # the sub-paise stays


def test_an_interval_closed_between_reading_the_outage_and_its_intervals_counts_once():
    """On PostgreSQL each statement has its own snapshot: a flush may close the growing
    interval after the outage row was read (open from 0, last tick at 600) and before its
    intervals are (closed from 0 to 610, power back)."""
    assert accrual.witnessed([(at(0), at(610))], at(0), at(600)) == [(at(0), at(610))]
    # Read consistently: the closed ones, and the one growing.
    assert accrual.witnessed([(at(0), at(60))], at(200), at(300)) == [
        (at(0), at(60)),
        (at(200), at(300)),
    ]


@pytest.mark.django_db
def test_a_cut_that_just_started_gets_its_checkpoint_not_a_row_of_pennies(alice, device):
    seq = cut(device, 0, 2, power_back=False)  # two seconds old when the run sees it
    accrual.accrue(now=at(2))
    state = AccrualState.objects.get()
    assert ledger_total(alice) == 0
    # Due at its own second, but not before it is JUST_STARTED old: no row of pennies.
    assert state.due_at == accrual.next_checkpoint(state.outage_id, at(2) + accrual.JUST_STARTED)
    assert state.due_at > at(2) + accrual.JUST_STARTED

    # The second is a hash of the outage's id, which the database picks: read it, not guess it.
    due = int((state.due_at - at(0)).total_seconds())
    seq = cut(device, 2, due - 3, seq0=seq, power_back=False)
    accrual.accrue(now=at(due - 1))  # a second early: nothing yet
    assert LedgerEntry.objects.filter(household=alice).count() == 0

    cut(device, due, 0, seq0=seq, power_back=False)  # the tick of its second
    accrual.accrue(now=at(due))  # its checkpoint: posted, in one row

    assert LedgerEntry.objects.filter(household=alice).count() == 1
    assert ledger_total(alice) == closed_form(alice, at(due))


@pytest.mark.parametrize("moment", [at(0), at(59), at(60), at(3600) + timedelta(microseconds=5)])
def test_each_outage_is_due_at_its_own_second_of_every_checkpoint(moment):
    every = int(accrual.CHECKPOINT.total_seconds())
    ids = range(1, every * 100 + 1)
    dues = {outage_id: accrual.next_checkpoint(outage_id, moment) for outage_id in ids}
    assert all(moment < due <= moment + accrual.CHECKPOINT for due in dues.values())
    # Outages that came due together are spread over the interval, and each second's
    # share over the shards (two here), not given to one of them.
    slot = {o: int((due - accrual.EPOCH).total_seconds()) % every for o, due in dues.items()}
    per_second = Counter(slot.values())
    assert (
        len(per_second) == every
        and 90 <= min(per_second.values()) <= max(per_second.values()) <= 110
    )
    per_shard = Counter((slot[o], o % 2) for o in ids)
    assert len(per_shard) == 2 * every and min(per_shard.values()) >= 35
    # An outage's own second: the same whenever it was last posted.
    due = accrual.next_checkpoint(7, moment)
    assert accrual.next_checkpoint(7, due) == due + accrual.CHECKPOINT


def _off(seq: int, second: int) -> Tick:
    return Tick(seq=seq, ts=at(second), power="off")


@pytest.mark.django_db
def test_a_cut_whose_flush_committed_late_is_posted_within_a_checkpoint(alice, device):
    """A flush stamped at(0) that commits after the run at(4) began (a stalled writer, a
    web node's clock off the worker's): later than LOOKBACK, and no event follows."""
    accrual.accrue(now=at(-10))
    accrual.accrue(now=at(4))  # began before the flush below committed
    store_ticks({device.pk: [_off(1, -2), _off(2, -1), _off(3, 0)]}, received_at=at(0))
    for second in range(1, 5 + 2 * accrual.CHECKPOINT.seconds):  # ticking on: no event
        store_ticks({device.pk: [_off(3 + second, second)]}, received_at=at(second))
        if second >= 5:  # a run a second
            accrual.accrue(now=at(second))
            if AccrualState.objects.exists():
                break

    assert second - 4 <= accrual.CHECKPOINT.seconds
    assert ledger_total(alice) == closed_form(alice, at(second)) > 0


@pytest.mark.django_db
def test_a_replayed_cut_whose_flush_committed_late_is_posted_in_full(alice, device):
    accrual.accrue(now=at(990))
    accrual.accrue(now=at(1004))  # began before the flush below committed
    ticks = [_off(1 + i, i) for i in range(600)]  # a buffer's ten-minute cut, replayed
    store_ticks({device.pk: [*ticks, Tick(seq=601, ts=at(600), power="on")]}, received_at=at(1000))
    for second in range(1005, 1005 + accrual.CHECKPOINT.seconds + 1):
        accrual.accrue(now=at(second))

    assert ledger_total(alice) == closed_form(alice, at(5000)) > 0


@pytest.mark.django_db
def test_a_device_ahead_of_the_clock_is_posted_at_checkpoints_not_every_second(alice, device):
    """Ticks stamped 200 s ahead (within the allowed skew), a second at a time, a run a
    second: about a row a checkpoint, as for any cut (not a row a second), and in the end
    exactly what is owed."""
    ahead, minutes = 200, 6
    seconds = minutes * accrual.CHECKPOINT.seconds
    for second in range(seconds):
        tick = _off(1 + second, ahead + second)
        store_ticks({device.pk: [tick]}, received_at=at(second))
        accrual.accrue(now=at(second))
    end = ahead + seconds
    store_ticks(
        {device.pk: [Tick(seq=1 + seconds, ts=at(end), power="on")]}, received_at=at(seconds)
    )
    for second in range(seconds, end + 2 * accrual.CHECKPOINT.seconds):
        accrual.accrue(now=at(second))

    # Six minutes ticking (the clock reaches the first tick after 200 s), the power back,
    # then the 200 s ahead reached: a few rows each.
    assert LedgerEntry.objects.filter(household=alice).count() <= 2 * (minutes + 4)
    assert ledger_total(alice) == closed_form(alice, at(end + 1000)) > 0
