"""`manage.py restore_drill`: prove a backup by restoring it (celc.restore_drill)."""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from celc import restore_drill as drill

# Problems listed per failed check; the count says how many more there were.
SHOWN = 20


def size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class Command(BaseCommand):
    help = (
        "Dump the database (DATABASE_URL), restore the dump into a fresh scratch database on "
        "the same server, and check there that every balance equals its ledger, that the "
        "ledger's append-only triggers are back, and that the accrual resumes without posting "
        "anything twice; then drop the scratch database. Exit status 0 only if every check "
        "passes. The source is only read. docs/backups.md."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dump",
            type=Path,
            help="write the dump to this file and keep it (default: under CELC_VAR_DIR/backups, "
            "removed after the drill)",
        )
        parser.add_argument(
            "--from-dump",
            type=Path,
            help="restore this existing dump (e.g. last night's backup) instead of taking one",
        )
        parser.add_argument(
            "--keep", action="store_true", help="keep the scratch database, to look at it"
        )
        # The drill's child process, on the scratch copy only (refused on any other).
        parser.add_argument("--checks-only", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, dump=None, from_dump=None, keep=False, checks_only=False, **options):
        # A dump holds password hashes and payout destinations: for this user only.
        os.umask(0o077)
        if checks_only:
            try:
                checks = drill.run_checks(shards=settings.ACCRUAL_SHARDS)
            except RuntimeError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(json.dumps([c.as_dict() for c in checks]))
            return
        if dump and from_dump:
            raise CommandError("--dump writes a new dump, --from-dump reads one: give one of them")
        if from_dump and not from_dump.is_file():
            raise CommandError(f"no dump at {from_dump}")
        source = connection.settings_dict
        sqlite = connection.vendor == "sqlite"
        if connection.vendor not in ("postgresql", "sqlite"):
            raise CommandError(f"the drill knows PostgreSQL and SQLite, not {connection.vendor}")
        connection.close()  # the drill itself never queries the source through Django

        where = (
            f"SQLite file {source['NAME']}"
            if sqlite
            else f"PostgreSQL database {source['NAME']} on "
            f"{source.get('HOST') or 'localhost'}:{source.get('PORT') or 5432}"
        )
        self.stdout.write(f"Restore drill of the {where}")
        backups = settings.VAR_DIR / "backups"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = (
            from_dump
            or dump
            or backups / f"restore-drill-{stamp}.{'sqlite3' if sqlite else 'dump'}"
        )
        name = drill.scratch_name()
        scratch = settings.VAR_DIR / f"{name}.sqlite3" if sqlite else name
        created = False
        # Stopped by systemd, a shutdown or a timeout (SIGTERM) as by Ctrl-C: the scratch
        # copy and the dump are still removed on the way out.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        try:
            if from_dump:
                self.stdout.write(f"dump      {path}: {size(path.stat().st_size)} (given)")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                began = time.monotonic()
                if sqlite:
                    drill.sqlite_dump(Path(source["NAME"]), path)
                else:
                    drill.pg_dump(source, path)
                self.stdout.write(
                    f"dump      {path}: {size(path.stat().st_size)} in "
                    f"{time.monotonic() - began:.1f} s"
                    + (" (SQLite online backup)" if sqlite else " (pg_dump -Fc)")
                )
            began = time.monotonic()
            if sqlite:
                created = True
                drill.sqlite_restore(path, scratch)
            else:
                drill.pg_create(source, name)
                created = True
                drill.pg_restore(source, name, path)
            self.stdout.write(f"restore   into {scratch}: {time.monotonic() - began:.1f} s")
            began = time.monotonic()
            checks = self.checks(drill.database_url(source, str(scratch)))
            self.stdout.write(f"checks    {time.monotonic() - began:.1f} s")
        except drill.DrillError as error:
            raise CommandError(f"FAIL  {error}") from error
        finally:
            if created and not keep:
                if sqlite:
                    drill.sqlite_drop(scratch)
                else:
                    drill.pg_drop(source, name)
                self.stdout.write(f"dropped   {scratch}")
            elif created:
                self.stdout.write(f"kept      {scratch} (--keep): drop it when done")
            if not (dump or from_dump) and path.exists():
                path.unlink()
        passed = sum(c["passed"] for c in checks)
        if passed != len(checks):
            raise CommandError(f"restore drill FAILED ({passed} of {len(checks)} checks passed)")
        self.stdout.write(f"RESULT    PASS ({passed} of {len(checks)} checks)")
        if sqlite:
            self.stdout.write(
                "This drilled the local SQLite database; for PostgreSQL give its DATABASE_URL, "
                "e.g. DATABASE_URL=postgres://celc@127.0.0.1:5432/celc make restore-drill"
            )

    def checks(self, url: str) -> list[dict]:
        """The checks, run by a child process whose only database is the restored copy."""
        env = {**os.environ, "DATABASE_URL": url}
        env.pop("CELC_DB_POOL", None)
        done = subprocess.run(
            [
                sys.executable,
                str(settings.BASE_DIR / "manage.py"),
                "restore_drill",
                "--checks-only",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise drill.DrillError(f"the checks did not run: {done.stderr.strip()[-3000:]}")
        checks = json.loads(lines[-1])
        for check in checks:
            verdict = "PASS" if check["passed"] else "FAIL"
            self.stdout.write(f"{verdict}  {check['name']}: {check['summary']}")
            for problem in check["problems"][:SHOWN]:
                self.stdout.write(f"        - {problem}")
            if len(check["problems"]) > SHOWN:
                self.stdout.write(f"        ... and {len(check['problems']) - SHOWN} more")
        return checks
