"""A database made by main before the apps became layers (2026-11-30: demo data, three
cuts posted to the ledger, two payouts, one rejected, a policy version for next year added
in the admin) migrates to the layout of today with nothing lost: the policy keeps its
table and rows and moves app with its content type (board staff's permissions and the
admin's history follow it), the ledger is untouched and still refuses changes.

The files in data/ were made with main at e5e3f66 (`manage.py migrate`, then a script of
the steps above); each test migrates a copy with `manage.py migrate`, as an operator would.
"""

import gzip
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from devtools.stack import BASE_DIR

DATA = Path(__file__).parent / "data"

# Read the same way from both databases: what must come through the migration unchanged.
BEFORE_AND_AFTER = {
    "policies": "SELECT count(*) FROM payouts_policy",
    "next_year": "SELECT name FROM payouts_policy WHERE name = 'Next year'",
    "entries": "SELECT count(*) FROM payouts_ledgerentry",
    "ledger": "SELECT amount FROM payouts_ledgerentry ORDER BY id",
    "payouts": "SELECT count(*) FROM payouts_payout",
    "outages": "SELECT count(*) FROM devices_outage",
}
AFTER = {
    "policy_type": "SELECT app_label FROM django_content_type WHERE model = 'policy'",
    "logged_as": "SELECT ct.app_label FROM django_admin_log l"
    " JOIN django_content_type ct ON ct.id = l.content_type_id WHERE l.object_repr LIKE 'Next%'",
    "board_staff": "SELECT ct.app_label || '.' || p.codename FROM auth_group_permissions gp"
    " JOIN auth_permission p ON p.id = gp.permission_id"
    " JOIN django_content_type ct ON ct.id = p.content_type_id"
    " WHERE p.codename LIKE '%_policy' ORDER BY 1",
}


def manage(database_url: str, *command: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "1"}
    subprocess.run([sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, check=True)


def migrate(database_url: str) -> None:
    manage(database_url, "migrate", "--noinput")
    manage(database_url, "makemigrations", "--check", "--dry-run")


def read(query, queries):
    return {name: query(sql) for name, sql in queries.items()}


def check(before, after):
    assert after["policies"] == before["policies"] == [(2,)]
    assert after["next_year"] == before["next_year"] == [("Next year",)]
    assert after["entries"] == before["entries"] and after["entries"][0][0] > 0
    assert [Decimal(str(a)) for (a,) in after["ledger"]] == [
        Decimal(str(a)) for (a,) in before["ledger"]
    ]
    assert after["payouts"] == before["payouts"] == [(2,)]
    assert after["outages"] == before["outages"] == [(3,)]
    assert after["policy_type"] == [("policy",)]  # one content type, moved, not a second
    assert after["logged_as"] == [("policy",)]
    assert after["board_staff"] == [
        ("policy.add_policy",),
        ("policy.change_policy",),
        ("policy.view_policy",),
    ]


def test_a_sqlite_database_of_main_migrates_to_the_layers(tmp_path):
    path = tmp_path / "main.sqlite3"
    with gzip.open(DATA / "main-2026-11-30.sqlite3.gz") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)

    def query(sql):
        with sqlite3.connect(path) as db:
            return db.execute(sql).fetchall()

    before = read(query, BEFORE_AND_AFTER)
    migrate(f"sqlite:///{path}")
    check(before, read(query, {**BEFORE_AND_AFTER, **AFTER}))
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE payouts_ledgerentry SET amount = 0")

    # Back to before the move (a release rolled back), where the previous code finds the
    # policy's content type, board staff's rights on it and its history under payouts; then
    # forward again, as before.
    manage(f"sqlite:///{path}", "migrate", "payouts", "0025", "--noinput")
    back = read(query, AFTER)
    assert ("payouts",) in back["policy_type"]
    assert back["logged_as"] == [("payouts",)]
    assert [p for (p,) in back["board_staff"] if p.startswith("payouts.")] == [
        "payouts.add_policy",
        "payouts.change_policy",
        "payouts.view_policy",
    ]
    migrate(f"sqlite:///{path}")
    check(before, read(query, {**BEFORE_AND_AFTER, **AFTER}))


def test_a_postgresql_database_of_main_migrates_to_the_layers():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("PostgreSQL's dump is restored on the PostgreSQL run (DATABASE_URL)")
    name = f"celc_main_{uuid.uuid4().hex[:8]}"
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'CREATE DATABASE "{name}"')
    target = url.rsplit("/", 1)[0] + f"/{name}"
    try:
        with gzip.open(DATA / "main-2026-11-30.postgres.sql.gz", "rt") as dump:
            subprocess.run(
                ["psql", "--quiet", "--set", "ON_ERROR_STOP=1", target],
                input=dump.read(),
                text=True,
                check=True,
                stdout=subprocess.DEVNULL,
            )

        def query(sql):
            with psycopg.connect(target) as db:
                return [tuple(row) for row in db.execute(sql).fetchall()]

        before = read(query, BEFORE_AND_AFTER)
        migrate(target)
        check(before, read(query, {**BEFORE_AND_AFTER, **AFTER}))
        with psycopg.connect(target) as db, pytest.raises(psycopg.Error, match="append-only"):
            db.execute("UPDATE payouts_ledgerentry SET amount = 0")
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
