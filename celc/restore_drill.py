"""The restore drill: a backup restored into a scratch database, and what must hold there.

Two halves. The checks (`balances_match_ledger`, `ledger_append_only`,
`accrual_resumes`) are plain functions over Django's default database: the
drill runs them in a child process whose only database is the restored copy
(`manage.py restore_drill` with DATABASE_URL pointing at it), because the
accrual they run writes to whatever `django.db.connection` is. The other half
dumps, creates the scratch database, restores and drops it: PostgreSQL with
pg_dump -Fc and pg_restore; SQLite with its online backup API and a file copy.
The source is only ever read (pg_dump; SQLite opened read-only).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from payouts import accrual, ledger_triggers
from payouts.models import (
    AccrualState,
    EntryKind,
    HouseholdBalance,
    LedgerEntry,
    refused_outage_ids,
)
from policy.compensation import household_owed

# Every scratch database (and SQLite scratch file) is named so: the checks, which write,
# refuse to run on a database not named so.
SCRATCH_PREFIX = "restore_drill_"


@dataclass
class Check:
    name: str
    passed: bool
    summary: str
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def is_scratch(settings_dict: dict) -> bool:
    """Whether a database is one the drill made (its name, or its file's name, says so)."""
    name = str(settings_dict.get("NAME") or "")
    if settings_dict.get("ENGINE", "").endswith("sqlite3"):
        name = Path(name).name  # a file: its own name, wherever it is
    return name.startswith(SCRATCH_PREFIX)


def scratch_name() -> str:
    return f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} " + (word[:-1] + "ies" if word.endswith("y") else word + "s")


def _households(ids) -> dict[int, str]:
    return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))


def _named(household_id: int, names: dict[int, str]) -> str:
    name = names.get(household_id)
    return f"household {household_id} ({name})" if name else f"household {household_id}"


# --- check 1: every balance is the sum of its ledger ------------------------------------


def balances_match_ledger(label: str = "balances") -> Check:
    """Every household's HouseholdBalance equals the sum of its ledger entries; a household
    with entries has a balance row; a balance row without entries holds nothing."""
    sums = dict(
        LedgerEntry.objects.order_by()
        .values("household_id")
        .annotate(total=Sum("amount"))
        .values_list("household_id", "total")
    )
    entries = LedgerEntry.objects.count()
    balances = dict(HouseholdBalance.objects.values_list("household_id", "amount"))
    wrong = {}
    for household_id in sums.keys() | balances.keys():
        total, balance = sums.get(household_id, Decimal(0)), balances.get(household_id)
        if balance is None:
            if household_id in sums:
                wrong[household_id] = f"ledger {total}, no balance row"
        elif balance != total:
            wrong[household_id] = f"balance {balance}, ledger {total}"
    names = _households(wrong)
    problems = [f"{_named(h, names)}: {wrong[h]}" for h in sorted(wrong)]
    return Check(
        label,
        not problems,
        f"{plural(len(balances | sums), 'household')}, {plural(entries, 'ledger entry')}"
        + (
            f"; {plural(len(problems), 'balance')} differing from the ledger"
            if problems
            else "; each equal"
        ),
        problems,
    )


# --- check 2: the ledger still refuses changes --------------------------------------------


def _triggers() -> list[str]:
    """The append-only triggers on the ledger, as installed and enabled."""
    table = ledger_triggers.TABLE
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND NOT tgisinternal AND tgenabled <> 'D' ORDER BY tgname",
                [table],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
                "ORDER BY name",
                [table],
            )
        return [name for (name,) in cursor.fetchall()]


EXPECTED_TRIGGERS = {
    "postgresql": ["ledger_append_only"],
    "sqlite": ["ledger_no_delete", "ledger_no_update"],
}


def _refused(sql: str, params: list) -> str | None:
    """Run one statement in a savepoint: the database's refusal, or None if it went through."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        return str(error).strip().splitlines()[0]
    return None


def ledger_append_only() -> Check:
    """The ledger's triggers are there, and an UPDATE and a DELETE of a ledger row fail (tried
    inside a transaction that is rolled back either way); one accrual step per outage is
    still a constraint."""
    problems = []
    found = _triggers()
    missing = set(EXPECTED_TRIGGERS.get(connection.vendor, [])) - set(found)
    if missing:
        problems.append(f"trigger missing or disabled on the ledger: {', '.join(sorted(missing))}")
    # The table's name is a constant; the row's id a parameter.
    update = f"UPDATE {ledger_triggers.TABLE} SET note = 'changed by the drill' WHERE id = %s"  # noqa: S608
    delete = f"DELETE FROM {ledger_triggers.TABLE} WHERE id = %s"  # noqa: S608
    with transaction.atomic():
        row = LedgerEntry.objects.order_by("-id").values_list("pk", flat=True).first()
        if row is None:  # an empty ledger: try on a row of our own, rolled back below
            row = LedgerEntry.objects.create(
                household_id=0, kind=EntryKind.ADJUSTMENT, amount=0, note="restore drill"
            ).pk
        for statement, sql in (("UPDATE", update), ("DELETE", delete)):
            refusal = _refused(sql, [row])
            if refusal is None:
                problems.append(f"{statement} of ledger entry {row} went through")
            elif "append-only" not in refusal:
                problems.append(f"{statement} of ledger entry {row} failed otherwise: {refusal}")
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, ledger_triggers.TABLE)
    if not constraints.get("ledger_accrual_once", {}).get("unique"):
        problems.append(
            "the constraint ledger_accrual_once (one entry per accrual step) is missing"
        )
    return Check(
        "append-only",
        not problems,
        f"triggers {', '.join(found) or 'none'}; "
        + ("UPDATE and DELETE of a ledger row refused" if not problems else "not as expected"),
        problems,
    )


# --- check 3: the accrual resumes without posting anything twice -------------------------


def _accrual_ledger() -> dict[int, tuple[int, Decimal, int]]:
    """Per outage: accrual entries, their total, the highest step."""
    return {
        outage_id: (n, total, top)
        for outage_id, n, total, top in LedgerEntry.objects.filter(kind=EntryKind.ACCRUAL)
        .order_by()
        .values("outage_id")
        .annotate(n=Count("id"), total=Sum("amount"), top=Max("accrual_seq"))
        .values_list("outage_id", "n", "total", "top")
    }


def _states() -> dict[int, tuple]:
    return {
        o: (household, entries, posted, is_open, due_at)
        for o, household, entries, posted, is_open, due_at in AccrualState.objects.values_list(
            "outage_id", "household_id", "entries", "posted", "open", "due_at"
        )
    }


def _kept_rows(up_to: int) -> tuple[int, Decimal]:
    kept = LedgerEntry.objects.filter(pk__lte=up_to).aggregate(n=Count("id"), total=Sum("amount"))
    return kept["n"], kept["total"] or Decimal(0)


def _states_agree(ledger: dict, states: dict) -> list[tuple[int, str]]:
    """Outages whose AccrualState (what the accrual subtracts) disagrees with their ledger:
    the accrual would post their money again, or too little."""
    wrong = []
    for outage_id in sorted(ledger.keys() | states.keys()):
        n, total, _ = ledger.get(outage_id, (0, Decimal(0), 0))
        household, entries, posted, *_ = states.get(outage_id, (None, 0, Decimal(0)))
        if (n, total) != (entries, posted):
            wrong.append(
                (
                    household,
                    f"outage {outage_id}: ledger {total} in {n} entries, its accrual state "
                    f"{posted} in {entries}",
                )
            )
    return wrong


def _round(shards: int, everything: bool = False) -> list[accrual.RunResult]:
    return [
        accrual.accrue(shard=shard, shards=shards, everything=everything) for shard in range(shards)
    ]


def accrual_resumes(*, shards: int) -> Check:
    """Run the real accrual on every shard, three times over (as beat resumes it; then every
    open outage posted, as before payouts; then as beat again), and check that nothing
    already in the ledger was posted again: no accrual step twice, every entry that was
    there unchanged, each outage's total what the closed form says it is owed (never
    more), and every open outage posted up to date with its next checkpoint set."""
    problems: list[tuple[int | None, str]] = []
    before = _accrual_ledger()
    states_before = _states()
    newest = LedgerEntry.objects.aggregate(top=Max("id"))["top"] or 0
    kept_before = _kept_rows(newest)
    problems += [
        (h, f"before the accrual ran: {p}") for h, p in _states_agree(before, states_before)
    ]
    open_before = {o for o, s in states_before.items() if s[3]}
    households_of = {o: s[0] for o, s in states_before.items()}

    try:
        resumed = _round(shards)
        brought_up = _round(shards, everything=True)
        again = _round(shards)
    except DatabaseError as error:
        return Check(
            "accrual resumes",
            False,
            "the accrual failed on the restored copy",
            [f"{type(error).__name__}: {error}"],
        )

    after = _accrual_ledger()
    states_after = _states()
    households_of.update({o: s[0] for o, s in states_after.items()})
    refused = set(refused_outage_ids())

    twice = (
        LedgerEntry.objects.filter(kind=EntryKind.ACCRUAL)
        .order_by()
        .values("outage_id", "accrual_seq")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("outage_id", "accrual_seq", "n")
    )
    for outage_id, seq, n in twice:
        problems.append(
            (households_of.get(outage_id), f"outage {outage_id}: step {seq} posted {n} times")
        )
    if _kept_rows(newest) != kept_before:
        problems.append((None, f"entries up to id {newest} changed while the accrual ran"))
    for outage_id, (n, _total, top) in after.items():
        old_n, _, old_top = before.get(outage_id, (0, Decimal(0), 0))
        new = n - old_n
        if new and top != (old_top or 0) + new:
            problems.append(
                (
                    households_of.get(outage_id),
                    f"outage {outage_id}: {new} new steps after step {old_top}, up to {top}",
                )
            )
    problems += [(h, f"after the accrual ran: {p}") for h, p in _states_agree(after, states_after)]

    # Open outages keep accruing: the run that posts everything brought each up to what it
    # is owed, and gave each still open its next checkpoint.
    owed_then = {o: r.owed[o] for r in brought_up for o in r.owed}
    reopened = 0
    for outage_id in sorted((open_before | (after.keys() - before.keys())) - refused):
        total = after.get(outage_id, (0, Decimal(0), 0))[1]
        if outage_id in owed_then and total != owed_then[outage_id]:
            problems.append(
                (
                    households_of.get(outage_id),
                    f"open outage {outage_id}: ledger {total}, owed {owed_then[outage_id]}",
                )
            )
        state = states_after.get(outage_id)
        if state and state[3]:
            reopened += 1
            if state[4] is None:
                problems.append(
                    (households_of.get(outage_id), f"open outage {outage_id}: no next checkpoint")
                )
    posted_again = {o: a for r in again for o, a in r.posted.items()}
    for outage_id, amount in sorted(posted_again.items()):
        problems.append(
            (households_of.get(outage_id), f"outage {outage_id}: {amount} posted by a repeated run")
        )

    # The closed form, worked out apart from the runs: no household holds more than it.
    over, under = _against_closed_form(refused, timezone.now())
    problems += [(h, text) for h, text in over]

    names = _households({h for h, _ in problems if h is not None})
    listed = [f"{_named(h, names)}: {text}" if h else text for h, text in problems]
    posted_entries = sum(len(r.posted) for r in [*resumed, *brought_up, *again])
    summary = (
        f"{3 * shards} runs ({shards} shard{'s' if shards != 1 else ''} x 3); open outages: "
        f"{len(open_before)} resumed, {reopened} still open with a next checkpoint; "
        f"{posted_entries} new entries; no step posted twice"
        if not listed
        else f"{len(listed)} problems after {3 * shards} runs"
    )
    if under:
        summary += f"; {len(under)} households owed more than posted (next event or checkpoint)"
    return Check("accrual resumes", not listed, summary, listed)


def _against_closed_form(refused: set[int], now) -> tuple[list, list]:
    """Households whose accrual entries exceed what the closed form says they are owed now
    (posted twice), and those below it (not yet posted), refused claims left out."""
    facts = accrual.facts_for(~Q(pk__in=refused))
    policies = accrual.current_policies()
    outages_of: dict[int, list] = defaultdict(list)
    for f in facts.values():
        outages_of[f.household_id].append(f)
    posted = dict(
        LedgerEntry.objects.filter(kind=EntryKind.ACCRUAL)
        .exclude(outage_id__in=refused)
        .order_by()
        .values("household_id")
        .annotate(total=Sum("amount"))
        .values_list("household_id", "total")
    )
    over, under = [], []
    for household_id in sorted(outages_of.keys() | posted.keys()):
        outages = outages_of.get(household_id, [])
        owed = sum(household_owed(outages, policies, now).by_outage.values(), Decimal(0))
        total = posted.get(household_id, Decimal(0))
        if total > owed:
            over.append((household_id, f"ledger {total} exceeds the closed form {owed}"))
        elif total < owed:
            under.append((household_id, f"ledger {total} below the closed form {owed}"))
    return over, under


def run_checks(*, shards: int) -> list[Check]:
    """Every check, on the default database (which must be a scratch copy)."""
    if not is_scratch(connection.settings_dict):
        raise RuntimeError(
            f"the drill's checks write (the accrual runs): they run only on a database named "
            f"{SCRATCH_PREFIX}*, not on {connection.settings_dict.get('NAME')}"
        )
    return [
        balances_match_ledger("balances (as restored)"),
        ledger_append_only(),
        accrual_resumes(shards=shards),
        balances_match_ledger("balances (after the accrual)"),
    ]


# --- dump, restore, drop -----------------------------------------------------------------


def libpq(settings_dict: dict, dbname: str | None = None) -> tuple[str, dict]:
    """A libpq connection string for a database on the same server, and the environment
    holding its password (never on a command line, where `ps` shows it)."""
    options = settings_dict.get("OPTIONS") or {}
    parts = {
        "dbname": dbname or settings_dict["NAME"],
        "host": settings_dict.get("HOST") or "",
        "port": str(settings_dict.get("PORT") or ""),
        "user": settings_dict.get("USER") or "",
        **{k: str(v) for k, v in options.items() if k.startswith("ssl") or k == "options"},
    }

    def literal(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    conninfo = " ".join(f"{k}={literal(v)}" for k, v in parts.items() if v)
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return conninfo, env


def database_url(settings_dict: dict, dbname: str) -> str:
    """DATABASE_URL of another database on the same server, same credentials."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{dbname}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    if host.startswith("/"):  # a Unix socket's directory, as dj-database-url reads it
        host = quote(host, safe="")
    elif ":" in host:
        host = f"[{host}]"
    port = settings_dict.get("PORT") or 5432
    ssl = {k: v for k, v in (settings_dict.get("OPTIONS") or {}).items() if k.startswith("ssl")}
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in ssl.items())
    return f"postgres://{auth}{host}:{port}/{dbname}" + (f"?{query}" if query else "")


class DrillError(Exception):
    """A step of the drill that failed before the checks: dump, create, restore."""


def _run(command: list[str], env: dict, step: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise DrillError(f"{step} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def pg_dump(settings_dict: dict, path: Path) -> None:
    conninfo, env = libpq(settings_dict)
    _run(["pg_dump", "--format=custom", "--file", str(path), "--dbname", conninfo], env, "pg_dump")


def _server(settings_dict: dict) -> psycopg.Connection:
    """A connection for CREATE and DROP DATABASE: to the server's own `postgres` database,
    which is there even when the source is not (restoring onto a new machine); else to the
    source's."""
    for dbname in ("postgres", None):
        conninfo, env = libpq(settings_dict, dbname)
        try:
            return psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True)
        except psycopg.OperationalError:
            if dbname is None:
                raise
    raise AssertionError("unreachable")


def pg_create(settings_dict: dict, name: str) -> None:
    try:
        with _server(settings_dict) as db:
            # template0: nothing of template1's local additions, as on a new server.
            db.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    except psycopg.Error as error:
        raise DrillError(
            f"could not create the scratch database {name} (the user needs CREATEDB): {error}"
        ) from error


def pg_restore(settings_dict: dict, name: str, path: Path) -> None:
    conninfo, env = libpq(settings_dict, name)
    # --no-owner: the drill's user owns the copy, whoever owned the source.
    _run(
        ["pg_restore", "--exit-on-error", "--no-owner", "--dbname", conninfo, str(path)],
        env,
        "pg_restore",
    )


def pg_drop(settings_dict: dict, name: str) -> None:
    if not name.startswith(SCRATCH_PREFIX):
        raise ValueError(f"{name} is not a scratch database")
    with _server(settings_dict) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_dump(source: Path, path: Path) -> None:
    """SQLite's online backup: a consistent copy while the servers write (read-only here)."""
    if not source.exists():
        raise DrillError(f"no database at {source}: run `make run` once, or set DATABASE_URL")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(path)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def sqlite_restore(path: Path, scratch: Path) -> None:
    shutil.copyfile(path, scratch)


def sqlite_drop(scratch: Path) -> None:
    if not scratch.name.startswith(SCRATCH_PREFIX):
        raise ValueError(f"{scratch} is not a scratch database")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
