"""The accrual run: post what every changed outage is owed now, minus what is posted.

Set-based: a handful of queries per run whatever the number of outages,
the money from `payouts.compensation`. Idempotent and safe to repeat, skip,
run late or run twice at once: each entry is the n-th accrual of its outage
and `(outage, n)` is unique in the database, so of two runs posting the
same step one insert wins and the other's is dropped by the constraint;
the totals only ever move to the closed form's value.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from celc.db import array_literal
from devices.models import (
    Device,
    Outage,
    OutageStatus,
    PlannedCut,
    WitnessedInterval,
    connection_state,
)
from payouts.compensation import (
    OutageFacts,
    Policies,
    Terms,
    _seconds,
    household_owed,
    month_start,
    outages_owed,
    still_growing,
    unpaid_windows,
    value_per_second,
)
from payouts.models import (
    AccrualRun,
    AccrualState,
    HouseholdBalance,
    LedgerEntry,
    Policy,
)
from payouts.presets import PRESETS

# Outages that ended or were backfilled are looked at again for this long
# after the previous run began: a flush that committed late is not missed.
LOOKBACK = timedelta(seconds=60)


@dataclass
class RunResult:
    started_at: datetime
    outages: int = 0
    posted: dict[int, Decimal] = field(default_factory=dict)  # outage id -> amount posted now
    households: set[int] = field(default_factory=set)  # whose state changed
    owed: dict[int, Decimal] = field(default_factory=dict)  # outage id -> owed now
    facts: dict[int, OutageFacts] = field(default_factory=dict)
    stopped: set[int] = field(default_factory=set)  # households whose caps stop all growth
    phases: dict[str, int] = field(default_factory=dict)  # milliseconds per phase


def current_policies() -> Policies:
    """The policy versions; the spec's default if none is stored (migration 0002 stores it)."""
    versions = [policy.terms() for policy in Policy.objects.all()]
    return Policies(versions or [default_terms()])


def default_terms() -> Terms:
    values = PRESETS["default"]
    return Terms(
        effective_from=datetime(2000, 1, 1, tzinfo=UTC),
        **{k: values[k] for k in ("kind", "grace_seconds", "multiplier", "escalation")},
        cap_per_outage=values["cap_per_outage"],
        cap_per_month=values["cap_per_month"],
    )


def facts_for(outages: Q) -> dict[int, OutageFacts]:
    """The outages matching `outages`, with their witnessed intervals (two queries)."""
    rows = Outage.objects.filter(outages).values_list(
        "id",
        "device__household_id",
        "device__monthly_units",
        "device__tariff",
        "started_at",
        "open_interval_start",
        "last_tick_at",
        "updated_at",
        "status",
        "device__area_id",
    )
    closed = defaultdict(list)
    for outage_id, start, end in (
        WitnessedInterval.objects.filter(outage__in=Outage.objects.filter(outages))
        .order_by("outage_id", "started_at")
        .values_list("outage_id", "started_at", "ended_at")
    ):
        closed[outage_id].append((start, end))
    rows = list(rows)
    windows = _windows_by_area(rows)
    values: dict[tuple, Decimal] = {}
    facts = {}
    for (
        outage_id,
        household_id,
        units,
        tariff,
        started_at,
        open_start,
        last_tick,
        updated,
        status,
        area_id,
    ) in rows:
        intervals = closed.get(outage_id, [])
        if open_start is not None and last_tick > open_start:
            intervals = [*intervals, (open_start, last_tick)]
        v = values.get((units, tariff))
        if v is None:
            v = values[(units, tariff)] = value_per_second(units, tariff)
        facts[outage_id] = OutageFacts(
            outage_id,
            household_id,
            started_at,
            v,
            tuple(intervals),
            updated_at=updated,
            ongoing=status == OutageStatus.ONGOING,
            windows=tuple(
                w for w in windows.get(area_id, ()) if w[0] < last_tick and w[1] > started_at
            )
            if windows
            else (),
        )
    return facts


def _unpaid_at(facts: OutageFacts, policies: Policies, moment: datetime) -> bool:
    """Whether `moment` falls in a stretch of an announced window that pays nothing."""
    return bool(facts.windows) and any(
        start <= moment < stop for start, stop, _ in unpaid_windows(facts, policies)
    )


def _windows_by_area(rows) -> dict[int, list[tuple]]:
    """Announced windows (planned cuts, exemptions) overlapping the outages, by area."""
    if not rows:
        return {}
    earliest = min(row[4] for row in rows)
    latest = max(row[6] for row in rows)
    found = defaultdict(list)
    for area_id, start, end, kind, pk in (
        PlannedCut.objects.filter(ends_at__gt=earliest, starts_at__lt=latest)
        .order_by("starts_at")
        .values_list("area_id", "starts_at", "ends_at", "kind", "pk")
    ):
        found[area_id].append((start, end, kind, pk))
    return found


def _owed(
    facts: dict[int, OutageFacts], policies: Policies, now: datetime, candidates: Q
) -> tuple[dict[int, Decimal], set[int]]:
    """Owed now per outage, the monthly cap applied where it may bind; and the households
    whose monthly cap has stopped them."""
    owed = outages_owed(facts.values(), policies, now)
    by_household: dict[int, list[int]] = defaultdict(list)
    for oid, f in facts.items():
        by_household[f.household_id].append(oid)
    # A household can reach its monthly cap only if what it is owed now plus
    # what its other recent outages hold reaches the smallest cap in force.
    cap = min(t.cap_per_month for t in policies.versions)
    since = month_start(now) - timedelta(days=31)
    others = dict(
        AccrualState.objects.filter(
            household_id__any=list(by_household), outage__started_at__gte=since
        )
        .exclude(outage__in=Outage.objects.filter(candidates))  # a hashed subquery, not a list
        .values("household")
        .annotate(total=Sum("posted"))
        .values_list("household", "total")
    )
    stopped = set()
    for household_id, outage_ids in by_household.items():
        if sum(owed[o] for o in outage_ids) + (others.get(household_id) or 0) < cap:
            continue
        # Rare: recompute with every outage of the household in reach of the cap.
        every = facts_for(
            Q(device__household_id=household_id)
            & (Q(ended_at__isnull=True) | Q(ended_at__gte=since))
        )
        facts.update(every)
        capped = household_owed(list(every.values()), policies, now).by_outage
        owed.update(capped)
        if not still_growing(list(every.values()), policies, now, capped):
            stopped.add(household_id)
    return owed, stopped


def accrue(now: datetime | None = None, *, shard: int = 0, shards: int = 1) -> RunResult:
    """One run over the households of one shard (household id modulo `shards`).

    `now` is for tests; the task passes nothing. Shards share nothing (a
    household's outages, balance and monthly cap are all in one), so runs of
    different shards go in parallel on different workers.
    """
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not one of {shards}")
    clock = time.monotonic()
    now = now or timezone.now()
    result = RunResult(started_at=now)
    lap = _Laps(result.phases)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The run is idempotent: if a crash loses its commit (a fraction of a
            # second of WAL), the next run posts the same amounts again. Not
            # waiting for the WAL flush saves the commit's fsync every second.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        previous = (
            AccrualRun.objects.filter(started_at__lte=now, shard=shard, shards=shards)
            .values_list("started_at", flat=True)
            .first()
        )
        candidates = Q(status__in=[OutageStatus.ONGOING, OutageStatus.LOST_CONTACT])
        if previous is not None:
            candidates |= Q(updated_at__gte=previous - LOOKBACK)
        else:
            candidates = Q()  # the first run looks at everything
        if shards > 1:
            candidates &= Q(device__household_id__shard=(shard, shards))
        policies = current_policies()
        facts = facts_for(candidates)
        lap("read")
        owed, result.stopped = _owed(facts, policies, now, candidates)
        lap("compute")
        states = dict(
            (outage_id, (posted, entries))
            for outage_id, posted, entries in AccrualState.objects.filter(
                outage_id__any=list(owed)
            ).values_list("outage_id", "posted", "entries")
        )
        rows = []
        for outage_id in sorted(owed):  # one order for every run: no deadlocks between two
            posted, entries = states.get(outage_id, (Decimal(0), 0))
            delta = owed[outage_id] - posted
            if delta:
                rows.append((facts[outage_id].household_id, delta, outage_id, entries + 1))
        lap("posted")
        inserted = _insert_accruals(rows, now)
        lap("insert")
        _apply_to_states_and_balances(rows, inserted)
        lap("states")
        result.outages = len(owed)
        result.owed = owed
        result.facts = facts
        result.posted = {outage_id: amount for outage_id, amount in inserted}
        # Changed since the previous run: a subset of the candidates, already read.
        since = previous or now - LOOKBACK
        changed = {f.household_id for f in facts.values() if f.updated_at and f.updated_at >= since}
        result.households = changed | {facts[o].household_id for o in result.posted}
        AccrualRun.objects.create(
            shard=shard,
            shards=shards,
            started_at=now,
            finished_at=timezone.now(),
            outages=result.outages,
            posted_entries=len(inserted),
            posted_amount=sum((amount for _, amount in inserted), Decimal(0)),
            households=len(result.households),
            duration_ms=int((time.monotonic() - clock) * 1000),
        )
        lap("changed")
    lap("commit")
    return result


class _Laps:
    """Milliseconds per phase of a run, for the benchmark."""

    def __init__(self, into: dict):
        self.into = into
        self.last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.into[name] = round((now - self.last) * 1000)
        self.last = now


LEDGER = LedgerEntry._meta.db_table
STATES = AccrualState._meta.db_table
BALANCES = HouseholdBalance._meta.db_table
INSERT_COLUMNS = "(household_id, kind, amount, outage_id, accrual_seq, created_at, note)"

INSERT_MANY_PG = (
    f"INSERT INTO {LEDGER} {INSERT_COLUMNS} SELECT h, 'accrual', a, o, s, %s, '' "
    "FROM unnest(%s::bigint[], %s::numeric[], %s::bigint[], %s::integer[]) AS v(h, a, o, s) "
    "ON CONFLICT DO NOTHING RETURNING outage_id, amount"
)
INSERT_ONE = (
    f"INSERT INTO {LEDGER} {INSERT_COLUMNS} VALUES (%s, 'accrual', %s, %s, %s, %s, '') "
    "ON CONFLICT DO NOTHING RETURNING outage_id"
)
ADD_TO_STATE = (
    f"ON CONFLICT (outage_id) DO UPDATE SET posted = {STATES}.posted + excluded.posted, "
    f"entries = {STATES}.entries + 1"
)
ADD_TO_STATES_PG = (
    f"INSERT INTO {STATES} (outage_id, household_id, posted, entries) "
    "SELECT o, h, a, 1 FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[]) AS v(o, h, a) "
    + ADD_TO_STATE
)
ADD_TO_STATE_ONE = (
    f"INSERT INTO {STATES} (outage_id, household_id, posted, entries) VALUES (%s, %s, %s, 1) "
    + ADD_TO_STATE
)
ADD_TO_BALANCES_PG = (
    f"INSERT INTO {BALANCES} (household_id, amount) "
    "SELECT h, a FROM unnest(%s::bigint[], %s::numeric[]) AS v(h, a) ORDER BY h "
    f"ON CONFLICT (household_id) DO UPDATE SET amount = {BALANCES}.amount + excluded.amount"
)
ADD_TO_BALANCE = (
    f"INSERT INTO {BALANCES} (household_id, amount) VALUES (%s, %s) ON CONFLICT (household_id) "
    f"DO UPDATE SET amount = {BALANCES}.amount + excluded.amount"
)


def _insert_accruals(rows: list[tuple], now: datetime) -> list[tuple[int, Decimal]]:
    """INSERT the entries, skipping any (outage, n) already there; return what went in."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            households, amounts, outages, seqs = (
                list(column) for column in zip(*rows, strict=True)
            )
            arrays = [array_literal(c) for c in (households, amounts, outages, seqs)]
            cursor.execute(INSERT_MANY_PG, [now, *arrays])
            return [(outage_id, Decimal(amount)) for outage_id, amount in cursor.fetchall()]
        inserted = []
        dt = connection.ops.adapt_datetimefield_value
        dec = connection.ops.adapt_decimalfield_value
        for household_id, amount, outage_id, seq in rows:
            cursor.execute(INSERT_ONE, [household_id, dec(amount, 14, 6), outage_id, seq, dt(now)])
            if cursor.fetchone() is not None:
                inserted.append((outage_id, amount))
        return inserted


def _apply_to_states_and_balances(rows: list[tuple], inserted: list[tuple[int, Decimal]]) -> None:
    """Add what was inserted to each outage's posted total and each household's balance."""
    if not inserted:
        return
    households = {outage_id: household_id for household_id, _, outage_id, _ in rows}
    by_household: dict[int, Decimal] = defaultdict(Decimal)
    for outage_id, amount in inserted:
        by_household[households[outage_id]] += amount
    dec = connection.ops.adapt_decimalfield_value
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            outage_ids = [outage_id for outage_id, _ in inserted]
            owners = [households[o] for o in outage_ids]
            amounts = [a for _, a in inserted]
            arrays = [array_literal(c) for c in (outage_ids, owners, amounts)]
            cursor.execute(ADD_TO_STATES_PG, arrays)
        else:
            cursor.executemany(
                ADD_TO_STATE_ONE, [(o, households[o], dec(a, 14, 6)) for o, a in inserted]
            )
    add_to_balances(by_household)


def add_to_balances(by_household: dict[int, Decimal]) -> None:
    """Add to each household's cached balance (inside the transaction that posts the entries)."""
    # In household order: the same lock order in every transaction.
    pairs = sorted(by_household.items())
    if not pairs:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                ADD_TO_BALANCES_PG,
                [array_literal(h for h, _ in pairs), array_literal(a for _, a in pairs)],
            )
        else:
            dec = connection.ops.adapt_decimalfield_value
            cursor.executemany(ADD_TO_BALANCE, [(h, dec(a, 14, 6)) for h, a in pairs])


def device_states(
    household_ids: set[int], result: RunResult, policies: Policies, now: datetime
) -> dict:
    """What each affected household's dashboard shows now: balance, rate, devices (two queries)."""
    ids = list(household_ids)
    balances = dict(
        HouseholdBalance.objects.filter(household_id__any=ids).values_list("household_id", "amount")
    )
    rates: dict[int, Decimal] = defaultdict(Decimal)
    devices: dict[int, list] = defaultdict(list)
    terms = policies.at(now)
    rows = Device.objects.filter(household_id__any=ids).values_list(
        "pk",
        "household_id",
        "name",
        "revoked_at",
        "power_state",
        "last_seen_at",
        "current_outage_id",
        "current_outage__status",
        "current_outage__started_at",
        "current_outage__witnessed_seconds",
        "current_outage__last_tick_at",
    )
    for (
        pk,
        household_id,
        name,
        revoked_at,
        power,
        seen,
        outage_id,
        status,
        started,
        witnessed,
        last_tick,
    ) in rows:
        entry = {
            "id": pk,
            "name": name,
            "state": "revoked" if revoked_at else connection_state(power, seen, now),
            "last_seen_at": seen.isoformat() if seen else None,
            "outage": None,
        }
        if outage_id is not None:
            facts = result.facts.get(outage_id)
            owed = result.owed.get(outage_id, Decimal(0))
            rate = Decimal(0)
            growth = None  # how many times the starting rate it pays now (compounding)
            if (
                facts is not None
                and status == OutageStatus.ONGOING
                and owed < terms.cap_per_outage
                and household_id not in result.stopped
                and not _unpaid_at(facts, policies, now)
            ):
                rate = terms.rate(facts.value_per_second, _seconds(now - started))
                if rate and terms.kind == "compounding":
                    growth = f"{rate / (facts.value_per_second * terms.multiplier):.4f}"
            rates[household_id] += rate
            entry["outage"] = {
                "id": outage_id,
                "status": status,
                "started_at": started.isoformat(),
                # The device's clock on the newest tick counted: what this update reflects.
                "last_tick_at": last_tick.isoformat() if last_tick else None,
                "witnessed_seconds": f"{witnessed:.6f}",
                "owed": f"{owed:.6f}",
                "rate_per_second": f"{rate:.6f}",
                "escalation": growth,
            }
        devices[household_id].append(entry)
    at = now.isoformat()
    return {
        h: {
            "balance": f"{balances.get(h, Decimal(0)):.6f}",
            "rate_per_second": f"{rates[h]:.6f}",
            "devices": devices[h],
            "at": at,
        }
        for h in household_ids
    }
