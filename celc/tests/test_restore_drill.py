"""The restore drill: its checks on the test database, then `manage.py restore_drill` on real
backups of a source database made for each test (PostgreSQL at 127.0.0.1:5432 whichever
database the suite runs on, and a SQLite file), migrated and filled by the product's own
functions in a child process, as an operator's would be."""

import os
import re
import shlex
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dj_database_url
import psycopg
import pytest
import time_machine
from django.db import connection

from celc import restore_drill
from devices.ingest import store_ticks
from devices.protocol import Tick
from devtools.stack import BASE_DIR
from payouts import accrual, apps, ledger_triggers
from payouts.models import AccrualState, HouseholdBalance, LedgerEntry

T0 = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def power_off(device, start: datetime, seconds: int, seq0: int = 1, back: bool = True) -> int:
    """Off ticks each second from `start`, then `on` (or one more `off`): `seconds` witnessed."""
    ticks = [
        Tick(seq=seq0 + i, ts=start + timedelta(seconds=i), power="off") for i in range(seconds)
    ]
    end = start + timedelta(seconds=seconds)
    ticks.append(Tick(seq=seq0 + seconds, ts=end, power="on" if back else "off"))
    store_ticks({device.pk: ticks}, received_at=end)
    return seq0 + seconds + 1


@pytest.fixture
def ledger(alice, bob, register_device):
    """Alice's hour-long cut, over; Bob's, still going; the accrual ran as beat would."""
    home = register_device(alice)[0]
    shop = register_device(bob, area_code="DL-SKT-007")[0]
    power_off(home, at(0), 3600)
    seq = power_off(shop, at(1800), 600, back=False)
    accrual.accrue(now=at(2500))
    power_off(shop, at(2401), 600, seq0=seq, back=False)
    accrual.accrue(now=at(3700))
    with time_machine.travel(at(3800), tick=False):
        yield {"alice": alice, "bob": bob, "shop": shop}


def problems(check) -> str:
    return "\n".join(check.problems)


# --- the checks, on the test database ------------------------------------------------------


@pytest.mark.django_db
def test_it_finds_each_balance_equal_to_its_ledger(ledger):
    check = restore_drill.balances_match_ledger()

    assert check.passed, problems(check)
    assert (
        check.summary == f"2 households, {LedgerEntry.objects.count()} ledger entries; each equal"
    )


@pytest.mark.django_db
def test_it_names_the_household_whose_balance_differs_from_its_ledger(ledger):
    # The balances have no trigger: a stray UPDATE (or a restore gone wrong) can move them.
    HouseholdBalance.objects.filter(household=ledger["alice"]).update(amount=Decimal("99"))

    check = restore_drill.balances_match_ledger()

    assert not check.passed
    assert check.problems == [
        f"household {ledger['alice'].pk} (alice): balance 99.000000, ledger 14.004438"
    ]


@pytest.mark.django_db
def test_it_names_a_household_with_entries_but_no_balance(ledger):
    HouseholdBalance.objects.filter(household=ledger["bob"]).delete()

    check = restore_drill.balances_match_ledger()

    assert not check.passed
    assert "(bob)" in problems(check) and "no balance row" in problems(check)


@pytest.mark.django_db
def test_it_finds_the_ledger_refusing_changes_and_leaves_it_as_it_was(ledger, monkeypatch):
    monkeypatch.setattr(apps, "purge_allowed", False)  # as outside the test harness
    before = list(LedgerEntry.objects.values_list("id", "amount", "note"))

    check = restore_drill.ledger_append_only()

    assert check.passed, problems(check)
    assert list(LedgerEntry.objects.values_list("id", "amount", "note")) == before


@pytest.mark.django_db
def test_it_tries_an_empty_ledger_on_a_row_of_its_own_and_keeps_none(db, monkeypatch):
    monkeypatch.setattr(apps, "purge_allowed", False)

    check = restore_drill.ledger_append_only()

    assert check.passed, problems(check)
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_it_fails_when_the_ledger_lost_its_triggers(ledger, monkeypatch):
    monkeypatch.setattr(apps, "purge_allowed", False)
    name = "ledger_append_only" if connection.vendor == "postgresql" else "ledger_no_update"
    table = ledger_triggers.TABLE
    with connection.cursor() as cursor:
        cursor.execute(
            f"DROP TRIGGER {name} ON {table}"
            if connection.vendor == "postgresql"
            else f"DROP TRIGGER {name}"
        )
    try:
        check = restore_drill.ledger_append_only()
    finally:
        ledger_triggers.install(connection)

    assert not check.passed
    assert f"trigger missing or disabled on the ledger: {name}" in check.problems
    assert any(re.match(r"UPDATE of ledger entry \d+ went through", p) for p in check.problems)


@pytest.mark.django_db
@pytest.mark.parametrize("shards", [1, 2])
def test_the_accrual_resumes_on_a_sound_ledger_posting_nothing_twice(ledger, shards):
    owed_before = accrual.accrue(now=at(3800), everything=True).owed  # what is due now
    entries = LedgerEntry.objects.count()

    check = restore_drill.accrual_resumes(shards=shards)

    assert check.passed, problems(check)
    assert "open outages: 1 resumed, 1 still open with a next checkpoint" in check.summary
    # Nothing was owed beyond what the ledger held: nothing new was posted.
    assert LedgerEntry.objects.count() == entries
    shop = AccrualState.objects.get(household=ledger["bob"])
    assert shop.posted == owed_before[shop.outage_id] and shop.open


@pytest.mark.django_db
def test_the_accrual_posting_an_outage_again_fails_naming_the_household(ledger):
    # Its accrual state forgets what the ledger holds: the accrual would post it all again.
    AccrualState.objects.filter(household=ledger["bob"]).update(posted=Decimal(0))

    check = restore_drill.accrual_resumes(shards=1)

    assert not check.passed
    bob = f"household {ledger['bob'].pk} (bob)"
    assert any(p.startswith(f"{bob}: before the accrual ran: outage") for p in check.problems)
    assert any(p.startswith(bob) and "exceeds the closed form" in p for p in check.problems), (
        problems(check)
    )
    assert not any("(alice)" in p for p in check.problems)


@pytest.mark.django_db
def test_its_checks_refuse_a_database_the_drill_did_not_make(ledger):
    with pytest.raises(RuntimeError, match="restore_drill_"):
        restore_drill.run_checks(shards=1)


# --- the drill, on real backups -------------------------------------------------------------


def seed() -> None:
    """A source database's contents, made by the product's functions (run in a child process
    on it): Alice's hour-long cut over and paid out, Bob's still going, Carol no cut."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from devices import services
    from payouts import creation

    now = timezone.now().replace(microsecond=0)
    devices = {}
    for name, area in (("alice", "TN-CHN-042"), ("bob", "DL-SKT-007"), ("carol", "DL-SKT-007")):
        household = get_user_model().objects.create_user(name, f"{name}@example.com")
        devices[name] = services.device_register(
            household=household,
            name="Home meter",
            area_code=area,
            monthly_units=Decimal(300),
            tariff=Decimal("6.00"),
        )[0]
    power_off(devices["alice"], now - timedelta(hours=3), 3600)
    seq = power_off(devices["bob"], now - timedelta(minutes=30), 600, back=False)
    accrual.accrue(now=now - timedelta(minutes=15))
    power_off(devices["bob"], now - timedelta(minutes=20) + timedelta(seconds=1), 600, seq, False)
    creation.create_payouts(now=now - timedelta(minutes=5))
    accrual.accrue(now=now - timedelta(minutes=1))


SEED = "import django; django.setup(); from celc.tests.test_restore_drill import seed; seed()"
# What the drill must leave as it was in the source: every row of these tables.
TABLES = [
    "payouts_ledgerentry",
    "payouts_householdbalance",
    "payouts_accrualstate",
    "payouts_accrualrun",
    "payouts_payout",
    "devices_outage",
]


def env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "celc.settings",
    }


def make_source(database_url: str) -> None:
    for command in (["manage.py", "migrate", "--noinput"], ["-c", SEED]):
        subprocess.run(
            [sys.executable, *command],
            cwd=BASE_DIR,
            env=env(database_url),
            check=True,
            stdout=subprocess.DEVNULL,
        )


def drill(database_url: str, *args: str, var_dir) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "restore_drill", *args],
        cwd=BASE_DIR,
        env={**env(database_url), "CELC_VAR_DIR": str(var_dir)},
        capture_output=True,
        text=True,
    )


def server() -> str:
    """The machine's PostgreSQL: the suite's own when it runs on it."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url.rsplit("/", 1)[0]
    return "postgres://postgres@127.0.0.1:5432"


def admin():
    try:
        return psycopg.connect(f"{server()}/postgres", autocommit=True)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL at {server()} for the drill's source: {error}")


@pytest.fixture(scope="module")
def pg_template():
    """A source database made once (migrate, then seed); each test drills its own copy."""
    name = f"celc_drill_source_{uuid.uuid4().hex[:8]}"
    with admin() as db:
        db.execute(f'CREATE DATABASE "{name}"')
    try:
        make_source(f"{server()}/{name}")
        yield name
    finally:
        with admin() as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_source(pg_template):
    name = f"celc_drill_copy_{uuid.uuid4().hex[:8]}"
    with admin() as db:
        db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield f"{server()}/{name}"
    finally:
        with admin() as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ROWS = "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM "


def fingerprint(database_url: str) -> dict:
    """Every row of TABLES, hashed: equal before and after means nothing was written."""
    with psycopg.connect(database_url) as db:
        return {table: db.execute(ROWS + f"{table} t").fetchone() for table in TABLES}


def sql(database_url: str, statement: str) -> None:
    with psycopg.connect(database_url) as db:
        db.execute(statement)


def scratch_databases() -> set[str]:
    with admin() as db:
        rows = db.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'restore\\_drill\\_%'"
        ).fetchall()
    return {name for (name,) in rows}


def verdicts(output: str) -> dict[str, str]:
    return dict(
        (m.group(2), m.group(1)) for m in re.finditer(r"^(PASS|FAIL)  ([^:]+):", output, re.M)
    )


def test_a_healthy_postgresql_backup_passes_every_check_and_the_source_is_unchanged(
    pg_source, tmp_path
):
    before = fingerprint(pg_source)
    dump = tmp_path / "nightly.dump"

    done = drill(pg_source, "--dump", str(dump), var_dir=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert verdicts(done.stdout) == {
        "balances (as restored)": "PASS",
        "append-only": "PASS",
        "accrual resumes": "PASS",
        "balances (after the accrual)": "PASS",
    }
    assert "open outages: 1 resumed, 1 still open with a next checkpoint" in done.stdout
    assert "RESULT    PASS (4 of 4 checks)" in done.stdout
    assert re.search(
        r"^dump      .*nightly\.dump: [\d.]+ KB in [\d.]+ s \(pg_dump -Fc\)", done.stdout, re.M
    )
    scratch = re.search(r"^dropped   (restore_drill_\w+)$", done.stdout, re.M).group(1)
    assert scratch not in scratch_databases()
    assert fingerprint(pg_source) == before
    assert dump.stat().st_size > 0  # the dump asked for is kept

    # The same dump again, as a nightly backup is drilled: it restores and passes.
    again = drill(pg_source, "--from-dump", str(dump), var_dir=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert fingerprint(pg_source) == before
    # And on a new machine, before the database it names exists (restoring for real).
    gone = pg_source.rsplit("/", 1)[0] + "/restore_target_never_made"
    anew = drill(gone, "--from-dump", str(dump), var_dir=tmp_path)
    assert anew.returncode == 0, anew.stdout + anew.stderr


def test_a_balance_altered_in_the_source_fails_the_balance_check_naming_the_household(
    pg_source, tmp_path
):
    sql(
        pg_source,
        "UPDATE payouts_householdbalance SET amount = amount + 1 WHERE household_id = "
        "(SELECT id FROM accounts_user WHERE username = 'bob')",
    )

    done = drill(pg_source, "--keep", var_dir=tmp_path)

    assert done.returncode == 1
    assert verdicts(done.stdout)["balances (as restored)"] == "FAIL"
    assert verdicts(done.stdout)["append-only"] == "PASS"
    assert re.search(r"^        - household \d+ \(bob\): balance [\d.]+, ledger", done.stdout, re.M)
    assert "restore drill FAILED" in done.stderr
    kept = re.search(r"^kept      (restore_drill_\w+) \(--keep\)", done.stdout, re.M).group(1)
    assert kept in scratch_databases()
    with admin() as db:
        db.execute(f'DROP DATABASE "{kept}" WITH (FORCE)')


def test_a_source_without_its_triggers_fails_the_append_only_check(pg_source, tmp_path):
    sql(pg_source, "DROP TRIGGER ledger_append_only ON payouts_ledgerentry")

    done = drill(pg_source, var_dir=tmp_path)

    assert done.returncode == 1
    assert verdicts(done.stdout)["append-only"] == "FAIL"
    assert "trigger missing or disabled on the ledger: ledger_append_only" in done.stdout
    assert re.search(r"UPDATE of ledger entry \d+ went through", done.stdout)
    assert re.search(r"DELETE of ledger entry \d+ went through", done.stdout)
    assert verdicts(done.stdout)["balances (as restored)"] == "PASS"
    assert not list((tmp_path / "backups").iterdir())  # its own dump removed


def test_an_accrual_state_behind_its_ledger_fails_the_resume_check_naming_the_household(
    pg_source, tmp_path
):
    sql(
        pg_source,
        "UPDATE payouts_accrualstate SET posted = 0 WHERE household_id = "
        "(SELECT id FROM accounts_user WHERE username = 'bob')",
    )

    done = drill(pg_source, var_dir=tmp_path)

    assert done.returncode == 1
    assert verdicts(done.stdout)["accrual resumes"] == "FAIL"
    assert re.search(r"household \d+ \(bob\): ledger [\d.]+ exceeds the closed form", done.stdout)


def test_the_checks_refuse_to_run_on_the_source(pg_source, tmp_path):
    before = fingerprint(pg_source)

    done = drill(pg_source, "--checks-only", var_dir=tmp_path)

    assert done.returncode == 1
    assert "they run only on a database named restore_drill_*" in done.stderr
    assert fingerprint(pg_source) == before


def test_a_sqlite_database_is_drilled_from_its_online_backup(tmp_path):
    source = tmp_path / "db.sqlite3"
    make_source(f"sqlite:///{source}")
    before = source.read_bytes()

    done = drill(f"sqlite:///{source}", var_dir=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert set(verdicts(done.stdout).values()) == {"PASS"} and len(verdicts(done.stdout)) == 4
    assert "(SQLite online backup)" in done.stdout
    assert source.read_bytes() == before
    assert not list(tmp_path.glob("restore_drill_*"))


def test_on_a_machine_without_a_database_it_says_what_to_do(tmp_path):
    done = drill(f"sqlite:///{tmp_path / 'none.sqlite3'}", var_dir=tmp_path)

    assert done.returncode == 1
    assert "run `make run` once, or set DATABASE_URL" in done.stderr
    assert not (tmp_path / "none.sqlite3").exists()


def unit_commands(path) -> tuple[dict, list[list[str]]]:
    """A oneshot unit's Environment= and its ExecStart=/ExecStartPost= command lines, with
    systemd's `$$` and `%%` made the `$` and `%` the program receives."""
    env, commands = {}, []
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key in ("ExecStart", "ExecStartPost"):
            commands.append(shlex.split(value.replace("$$", "$").replace("%%", "%")))
    return env, commands


def test_the_backup_unit_dumps_what_the_drill_restores_and_keeps_only_recent_dumps(
    pg_source, tmp_path
):
    unit_env, commands = unit_commands(BASE_DIR / "deploy/systemd/celc-backup.service")
    backups = tmp_path / "celc-backups"
    backups.mkdir()
    old = backups / "celc-20240101T200000Z.dump"
    old.write_bytes(b"a dump from long ago")
    # A fixed moment, not this process's clock: `find` reads the machine's, which the
    # month-end and leap-day runs of the suite do not shift.
    long_ago = datetime(2024, 1, 1, 20, tzinfo=UTC).timestamp()
    os.utime(old, (long_ago, long_ago))
    name = pg_source.rsplit("/", 1)[1]
    env = {
        **os.environ,
        **unit_env,
        "CELC_BACKUP_DIR": str(backups),
        "CELC_BACKUP_DATABASE": f"host=127.0.0.1 user=postgres dbname={name}",
    }

    for command in commands:
        subprocess.run(command, env=env, check=True, capture_output=True)

    dumps = list(backups.iterdir())
    assert len(dumps) == 1 and re.fullmatch(r"celc-\d{8}T\d{6}Z\.dump", dumps[0].name)
    done = drill(pg_source, "--from-dump", str(dumps[0]), var_dir=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RESULT    PASS" in done.stdout


def test_a_unix_socket_database_url_names_the_scratch_database_on_the_same_socket():
    source = dj_database_url.parse("postgres://postgres@%2Fvar%2Frun%2Fpostgresql/celc")

    scratch = dj_database_url.parse(restore_drill.database_url(source, "restore_drill_0123abcd"))

    assert (scratch["HOST"], scratch["NAME"]) == ("/var/run/postgresql", "restore_drill_0123abcd")
    assert restore_drill.is_scratch(scratch)
    # A PostgreSQL name is checked whole: a path-like name ending in the prefix is not one.
    assert not restore_drill.is_scratch({**scratch, "NAME": "x/restore_drill_0123abcd"})
