"""The accrual run: post what every changed outage is owed now, minus what is posted.

Set-based: a handful of queries per run whatever the number of outages,
the money from `policy.compensation`. Idempotent and safe to repeat, skip,
run late or run twice at once: each entry is the n-th accrual of its outage
and `(outage, n)` is unique in the database, so of two runs posting the
same step one insert wins and the other's is dropped by the constraint;
the totals only ever move to the closed form's value.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from common.db import array_literal, text_array_literal
from common.fields import exact_param
from devices.models import (
    Outage,
    OutageStatus,
    PlannedCut,
    SupplyChange,
    WitnessedInterval,
)
from payouts.models import (
    AccrualRun,
    AccrualState,
    HouseholdBalance,
    LedgerEntry,
    refused_outage_ids,
)
from policy.compensation import (
    OutageFacts,
    Policies,
    Terms,
    household_owed,
    month_start,
    outages_owed,
    still_growing,
    unpaid_windows,
    value_per_second,
)
from policy.models import Policy
from policy.presets import PRESETS

# Outages whose evidence changed (an event) are looked at again for this long after
# the previous run began: a flush that committed late is not missed. A flush stamps its
# events as it writes them (devices.ingest), so it is late by its writes and its commit:
# milliseconds, a second under overload. Each second of look-back costs every run a scan
# of the outages that changed in it: after a mass cut, all of them.
LOOKBACK = timedelta(seconds=3)
# Once every checkpoint interval a run looks back this far instead: what committed later
# than that (a stalled flush, a web node's clock seconds off the worker's) is posted
# within a minute rather than at the next payout run, at the cost of one scan a minute.
SLOW_LOOKBACK = timedelta(minutes=5)
# Runs further apart than this: beat stopped for a while, and ongoing outages that no
# run has seen are looked for among all of them.
BEAT_STOPPED = timedelta(seconds=30)
# A cut this young when first seen gets its checkpoint, not yet a ledger row.
JUST_STARTED = timedelta(seconds=10)
# An open outage is posted at least this often (the ledger's rows per outage-hour).
CHECKPOINT = timedelta(seconds=settings.ACCRUAL_CHECKPOINT_SECONDS)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# A household with a page open gets a fresh quote at least this often.
QUOTE_EVERY = timedelta(seconds=settings.QUOTE_EVERY_SECONDS)


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
    stored = Policy.objects.order_by("effective_from")
    versions = [policy.terms(baseline=n == 0) for n, policy in enumerate(stored)]
    return Policies(versions or [default_terms()])


def default_terms() -> Terms:
    values = PRESETS["default"]
    return Terms(
        effective_from=datetime(2000, 1, 1, tzinfo=UTC),
        **{k: values[k] for k in ("kind", "grace_seconds", "multiplier", "escalation")},
        cap_per_outage=values["cap_per_outage"],
        cap_per_month=values["cap_per_month"],
    )


def facts_for(outages: Q, statuses: dict[int, str] | None = None) -> dict[int, OutageFacts]:
    """The outages matching `outages`, with their witnessed intervals (two queries); their
    statuses as read go into `statuses` when given."""
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
        "device_id",
    )
    rows = list(rows)  # read before the intervals: see the note on the growing one below
    closed = defaultdict(list)
    for outage_id, start, end in (
        WitnessedInterval.objects.filter(outage__in=Outage.objects.filter(outages))
        .order_by("outage_id", "started_at")
        .values_list("outage_id", "started_at", "ended_at")
    ):
        closed[outage_id].append((start, end))
    windows = _windows_by_area(rows)
    supply = _supply_histories(rows)
    values: dict[tuple, Decimal] = {}

    def value(units: Decimal, tariff: Decimal) -> Decimal:
        v = values.get((units, tariff))
        if v is None:
            v = values[(units, tariff)] = value_per_second(units, tariff)
        return v

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
        device_id,
    ) in rows:
        intervals = witnessed(closed.get(outage_id, []), open_start, last_tick)
        v, changes = value(units, tariff), ()
        history = supply.get(device_id)
        if history:
            # The version in force when the outage began, then each change during it.
            before = [h for h in history if h[0] <= started_at] or history[:1]
            v = value(*before[-1][1:])
            changes = tuple(
                (since, value(u, t)) for since, u, t in history if started_at < since <= last_tick
            )
        if statuses is not None:
            statuses[outage_id] = status
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
            value_changes=changes,
        )
    return facts


def _supply_histories(rows) -> dict[int, list[tuple]]:
    """Each device's units and tariff over time, for devices changed since the earliest of
    the outages began: (from, units, tariff) in order. Usually none (one indexed query)."""
    if not rows:
        return {}
    earliest = min(row[4] for row in rows)
    changed = {row[10] for row in rows} & set(
        SupplyChange.objects.filter(effective_from__gt=earliest).values_list("device_id", flat=True)
    )
    if not changed:
        return {}
    histories: dict[int, list[tuple]] = defaultdict(list)
    for device_id, since, units, tariff in (
        SupplyChange.objects.filter(device_id__in=changed)
        .order_by("device_id", "effective_from")
        .values_list("device_id", "effective_from", "monthly_units", "tariff")
    ):
        histories[device_id].append((since, units, tariff))
    return histories


def witnessed(closed: list[tuple], open_start, last_tick) -> list[tuple]:
    """An outage's witnessed intervals: the closed ones, and the one still growing.

    The outage rows are read before their intervals (two statements, each its own
    snapshot on PostgreSQL): a flush committing in between may have closed the growing
    interval since. Intervals start once each (interval_unique_start): a closed one
    starting where the open one did is that interval, closed; counting the open one
    read before it too would count its time twice.
    """
    if open_start is None or last_tick <= open_start:
        return list(closed)
    if any(start == open_start for start, _ in closed):
        return list(closed)
    return [*closed, (open_start, last_tick)]


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
    facts: dict[int, OutageFacts], policies: Policies, now: datetime, candidates: set[int]
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
        .exclude(outage_id__any=sorted(candidates))
        .exclude(outage__in=refused_outage_ids())
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
            & ~Q(pk__in=refused_outage_ids())
        )
        facts.update(every)
        capped = household_owed(list(every.values()), policies, now).by_outage
        owed.update(capped)
        if not still_growing(list(every.values()), policies, now, capped):
            stopped.add(household_id)
    return owed, stopped


def accrue(
    now: datetime | None = None,
    *,
    shard: int = 0,
    shards: int = 1,
    everything: bool = False,
    watched: Callable[[set[int]], set[int]] | None = None,
) -> RunResult:
    """One run over the households of one shard (household id modulo `shards`).

    It handles only what is due: outages whose evidence changed since the
    previous run (an event: a cut started or ended, a gap, ticks resumed or
    backfilled), and open outages whose checkpoint
    came (posted at least every CHECKPOINT); and, for households with a page
    open (`watched`), outages whose quote is older than QUOTE_EVERY: their owed
    is worked out for the quote, not posted. `everything`: every open outage,
    posted now (before payouts are made; the first run of a database).

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
                # Short queries: JIT compiled plans it guessed costly for longer than the
                # queries ran (docs/performance.md). Set here, not as a
                # connection option, which PgBouncer may refuse and a DATABASE_URL overrides.
                cursor.execute("SET LOCAL jit = off")
        previous = (
            AccrualRun.objects.filter(started_at__lte=now, shard=shard, shards=shards)
            .values_list("started_at", flat=True)
            .first()
        )
        mine = Q(device__household_id__shard=(shard, shards)) if shards > 1 else Q()
        # A refused claim's outages never count again: no more accruals, no cap room.
        mine &= ~Q(pk__in=refused_outage_ids())
        to_post, to_quote = _due(now, previous, mine, (shard, shards), everything, watched)
        candidates = to_post | to_quote
        policies = current_policies()
        statuses: dict[int, str] = {}
        facts = facts_for(Q(pk__in=candidates), statuses) if candidates else {}
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
        just_started = set()
        for outage_id in sorted(owed):  # one order for every run: no deadlocks between two
            if outage_id not in to_post:
                continue
            if (
                not everything
                and outage_id not in states
                and statuses.get(outage_id) == OutageStatus.ONGOING
                and facts[outage_id].started_at >= now - JUST_STARTED
            ):
                # A cut that just started: its first checkpoint is set now, its money
                # (a few seconds' worth) posted at the next one, or when it ends.
                just_started.add(outage_id)
                continue
            posted, entries = states.get(outage_id, (Decimal(0), 0))
            delta = owed[outage_id] - posted
            if delta:
                rows.append((facts[outage_id].household_id, delta, outage_id, entries + 1))
        lap("posted")
        inserted = _insert_accruals(rows, now)
        lap("insert")
        checkpoints = _checkpoints(facts, statuses, to_post & set(owed), now, just_started)
        _apply_to_states_and_balances(rows, inserted, checkpoints)
        _quoted(to_quote & set(owed), now)
        lap("states")
        result.outages = len(owed)
        result.owed = owed
        result.facts = facts
        result.posted = {outage_id: amount for outage_id, amount in inserted}
        # Who gets a fresh quote: an event since the previous run, money posted, or a
        # quote due (not the events only looked at again within LOOKBACK).
        fresh = previous or now
        result.households = (
            {f.household_id for f in facts.values() if f.updated_at and f.updated_at >= fresh}
            | {facts[o].household_id for o in result.posted}
            | {facts[o].household_id for o in to_quote if o in facts}
        )
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


def _due(
    now: datetime,
    previous: datetime | None,
    mine: Q,
    shard: tuple[int, int],
    everything: bool,
    watched,
) -> tuple[set[int], set[int]]:
    """The outages to post now, and those to quote without posting (a few queries, each
    on an index: updated_at, and AccrualState's open checkpoints)."""
    # On AccrualState's own columns (its household, the partial indexes on open ones): a
    # join to every outage of the shard would cost a run time in proportion to all of them.
    open_states = AccrualState.objects.filter(open=True, household_id__shard=shard).exclude(
        outage_id__in=refused_outage_ids()
    )
    if everything or previous is None:
        # Every outage not known to be settled: the first run of a database, payouts.
        settled = AccrualState.objects.filter(open=False).values("outage_id")
        to_post = set(
            Outage.objects.filter(mine).exclude(pk__in=settled).values_list("pk", flat=True)
        )
        return to_post, set()
    # Each shard at its own second of the interval: two slow scans at once would share
    # the cores.
    offset = EPOCH + CHECKPOINT * shard[0] / shard[1]
    slow = (now - offset) // CHECKPOINT != (previous - offset) // CHECKPOINT
    since = previous - (SLOW_LOOKBACK if slow else LOOKBACK)
    # Evidence changed since it was last posted (a late commit included: LOOKBACK, and
    # SLOW_LOOKBACK once a checkpoint interval). In the database: after a mass cut every
    # outage's update is within the look-back, and only those not posted since are wanted.
    # Two steps: the changed outages of every shard on the outages' and the states' own
    # columns (the index on updated_at; no join to devices, whose household decides the
    # shard, over every outage in the window), then this shard's among those few.
    seen = F("accrualstate__evidence_at")
    changed = list(
        Outage.objects.filter(updated_at__gte=since)
        .alias(seen=seen)
        .filter(Q(seen__isnull=True) | Q(seen__lt=F("updated_at")) | Q(seen__gt=F("updated_at")))
        .values_list("pk", flat=True)
    )
    to_post = (
        set(Outage.objects.filter(mine, pk__any=changed).values_list("pk", flat=True))
        if changed
        else set()
    )
    to_post |= set(open_states.filter(due_at__lte=now).values_list("outage_id", flat=True))
    if now - previous > BEAT_STOPPED:
        # Beat stopped for a while: events older than the look-back may have been missed.
        to_post |= set(
            Outage.objects.filter(
                mine, status__in=[OutageStatus.ONGOING, OutageStatus.LOST_CONTACT]
            )
            .exclude(pk__in=AccrualState.objects.values("outage_id"))
            .values_list("pk", flat=True)
        )
    to_quote = set()
    if watched is not None:
        stale = dict(
            open_states.filter(quoted_at__lte=now - QUOTE_EVERY).values_list(
                "outage_id", "household_id"
            )
        )
        if stale:
            looking = watched(set(stale.values()))
            to_quote = {o for o, h in stale.items() if h in looking} - to_post
    return to_post, to_quote


def next_checkpoint(outage_id: int, now: datetime) -> datetime:
    """The outage's next checkpoint after `now`: its own second of every CHECKPOINT
    (a hash of its id), whenever it was last posted. Cuts that start together, or a run that
    posts everything (payouts), would otherwise come due together every CHECKPOINT;
    spread by id, each run posts about a CHECKPOINT's share of the ongoing outages."""
    every = max(1, int(CHECKPOINT.total_seconds()))
    # Multiplicative hashing (Knuth): ids a shard apart still land on different seconds,
    # so each second's share is split over the shards, not given to one of them.
    slot = (outage_id * 2654435761 % 2**32) * every >> 32
    seconds = int((now - EPOCH).total_seconds() // 1) - slot
    return EPOCH + timedelta(seconds=(seconds // every + 1) * every + slot)


def _checkpoints(
    facts: dict,
    statuses: dict[int, str],
    posted: set[int],
    now: datetime,
    just_started: set[int] = frozenset(),
) -> list[AccrualState]:
    """Each posted outage's checkpoint: when it is next due (and was quoted), the evidence
    it was posted from (its `updated_at` as read: a change committed after the read
    differs, and is posted by the next run), and whether it is still open: not ended, or
    with witnessed time still ahead of the clock. What it holds is added apart."""
    return [
        AccrualState(
            outage_id=o,
            household_id=facts[o].household_id,
            # A cut that just started: its own second, but not before it is JUST_STARTED old
            # (sooner would post a few seconds' pennies in a row of their own).
            due_at=next_checkpoint(o, now + JUST_STARTED if o in just_started else now),
            quoted_at=now,
            evidence_at=facts[o].updated_at,
            open=statuses.get(o) != OutageStatus.ENDED
            or any(end > now for _, end in facts[o].intervals),
        )
        for o in sorted(posted)
    ]


def _quoted(quoted: set[int], now: datetime) -> None:
    if quoted:
        AccrualState.objects.filter(outage_id__any=sorted(quoted)).update(quoted_at=now)


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
        for household_id, amount, outage_id, seq in rows:
            cursor.execute(
                INSERT_ONE, [household_id, exact_param(connection, amount), outage_id, seq, dt(now)]
            )
            if cursor.fetchone() is not None:
                inserted.append((outage_id, amount))
        return inserted


def _apply_to_states_and_balances(
    rows: list[tuple], inserted: list[tuple[int, Decimal]], checkpoints: list[AccrualState]
) -> None:
    """Add what was inserted to each outage's posted total and each household's balance,
    and record the outages' checkpoints: on PostgreSQL one statement per table."""
    households = {outage_id: household_id for household_id, _, outage_id, _ in rows}
    amounts = dict(inserted)
    by_household: dict[int, Decimal] = defaultdict(Decimal)
    for outage_id, amount in inserted:
        by_household[households[outage_id]] += amount
    if connection.vendor == "postgresql":
        _settle_states_pg(checkpoints, amounts)
    else:
        if inserted:
            with connection.cursor() as cursor:
                cursor.executemany(
                    ADD_TO_STATE_ONE,
                    [(o, households[o], exact_param(connection, a)) for o, a in inserted],
                )
        AccrualState.objects.bulk_create(
            checkpoints,
            update_conflicts=True,
            unique_fields=["outage"],
            update_fields=["due_at", "quoted_at", "evidence_at", "open"],
        )
    add_to_balances(by_household)


SETTLE_STATES_PG = (
    f"INSERT INTO {STATES} "
    "(outage_id, household_id, posted, entries, due_at, quoted_at, evidence_at, open) "
    "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::integer[], "
    "%s::timestamptz[], %s::timestamptz[], %s::timestamptz[], %s::boolean[]) "
    f"ON CONFLICT (outage_id) DO UPDATE SET posted = {STATES}.posted + excluded.posted, "
    f"entries = {STATES}.entries + excluded.entries, due_at = excluded.due_at, "
    "quoted_at = excluded.quoted_at, evidence_at = excluded.evidence_at, open = excluded.open"
)


def _settle_states_pg(checkpoints: list[AccrualState], amounts: dict[int, Decimal]) -> None:
    """One upsert for every posted outage: its checkpoint, and what this run inserted for
    it (nothing when another run's insert of the same step won)."""
    missing = set(amounts) - {c.outage_id for c in checkpoints}
    if missing:  # the totals would fall behind the ledger
        raise RuntimeError(f"posted without a checkpoint: {sorted(missing)}")
    if not checkpoints:
        return
    columns = [
        [c.outage_id for c in checkpoints],
        [c.household_id for c in checkpoints],
        [amounts.get(c.outage_id, Decimal(0)) for c in checkpoints],
        [1 if c.outage_id in amounts else 0 for c in checkpoints],
        [c.due_at for c in checkpoints],
        [c.quoted_at for c in checkpoints],
        [c.evidence_at for c in checkpoints],
        ["t" if c.open else "f" for c in checkpoints],
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            SETTLE_STATES_PG,
            [array_literal(c) for c in columns[:4]] + [text_array_literal(c) for c in columns[4:]],
        )


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
            cursor.executemany(ADD_TO_BALANCE, [(h, exact_param(connection, a)) for h, a in pairs])
