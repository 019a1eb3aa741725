"""/healthz: 200 when the database, Redis, beat, the accrual and this process's ingest are
well; 503 naming the part that is not. The checks are plain functions (celc/health.py),
tested here directly and through a real daphne and a real Celery beat."""

import asyncio
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from celc import health, ops
from common.live import client
from conftest import Daphne
from devtools.stack import BASE_DIR
from faults.test_faults import until
from payouts.models import AccrualRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_prefix():
    """Each test's beat record under a key of its own."""
    with override_settings(CHANNEL_PREFIX=f"health{uuid.uuid4().hex[:8]}"):
        yield
    client().delete(health.beat_key())


def accrual_run(finished_ago: float, shard: int = 0, shards: int = 1) -> None:
    finished = timezone.now() - timedelta(seconds=finished_ago)
    AccrualRun.objects.create(
        shard=shard,
        shards=shards,
        started_at=finished - timedelta(milliseconds=30),
        finished_at=finished,
        outages=0,
        posted_entries=0,
        posted_amount=Decimal(0),
        households=0,
        duration_ms=30,
    )


def beat_sent(seconds_ago: float) -> None:
    client().set(health.beat_key(), repr(time.time() - seconds_ago))


def test_it_is_healthy_when_every_part_is():
    beat_sent(1)
    accrual_run(finished_ago=0.5)

    ok, body = health.health(ingest_lag=0.2)

    assert ok
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "redis", "beat", "accrual", "ingest"}
    assert all(check["ok"] for check in body["checks"].values())


@override_settings(HEALTH_ACCRUAL_LAG_SECONDS=10)
def test_it_names_the_accrual_when_its_newest_run_is_too_old():
    beat_sent(1)
    accrual_run(finished_ago=30)

    ok, body = health.health(ingest_lag=0)

    assert not ok
    assert body["failed"] == ["accrual"]
    assert body["checks"]["accrual"]["lag_seconds"] >= 30


@override_settings(ACCRUAL_SHARDS=2)
def test_every_shard_must_have_run_lately():
    beat_sent(1)
    accrual_run(finished_ago=0.5, shard=0, shards=2)  # shard 1's worker never took its runs

    ok, body = health.health(ingest_lag=0)

    assert not ok
    assert body["failed"] == ["accrual"]
    assert body["checks"]["accrual"]["error"] == "never ran"


@override_settings(HEALTH_BEAT_SECONDS=10)
def test_it_names_beat_when_beat_sent_nothing_lately():
    accrual_run(finished_ago=0.5)
    beat_sent(60)

    ok, body = health.health(ingest_lag=0)

    assert not ok
    assert body["failed"] == ["beat"]
    assert body["checks"]["beat"]["seconds_ago"] >= 60


def test_a_beat_that_never_ran_fails():
    accrual_run(finished_ago=0.5)

    ok, body = health.health(ingest_lag=0)

    assert not ok
    assert body["failed"] == ["beat"]
    assert body["checks"]["beat"]["error"] == "never ran"


@override_settings(HEALTH_INGEST_LAG_SECONDS=5)
def test_it_names_the_ingest_when_ticks_wait_too_long_to_be_stored():
    beat_sent(1)
    accrual_run(finished_ago=0.5)

    ok, body = health.health(ingest_lag=12.5)

    assert not ok
    assert body["failed"] == ["ingest"]
    assert body["checks"]["ingest"]["lag_seconds"] == 12.5


def test_redis_down_fails_redis_and_beat_with_the_error_named():
    accrual_run(finished_ago=0.5)

    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        ok, body = health.health(ingest_lag=0)

    assert not ok
    assert body["failed"] == ["redis", "beat"]
    assert body["checks"]["redis"]["error"] == "ConnectionError"


def get(server: Daphne, path: str, method: str = "GET", host: str = "127.0.0.1"):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_web_process_answers_healthz_by_any_name_over_plain_http(server_env):
    """As a load balancer asks a web process directly: by address, without TLS, even in
    production settings (which redirect everything else to https and check the host)."""
    prefix = f"health{uuid.uuid4().hex[:8]}"
    server = Daphne(
        {
            **server_env,
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "k" + uuid.uuid4().hex * 2,
            "DJANGO_ALLOWED_HOSTS": "power.example.org",
            "CELC_CHANNEL_PREFIX": prefix,
        }
    )
    server.start()
    try:
        accrual_run(finished_ago=0.2)
        with override_settings(CHANNEL_PREFIX=prefix):
            beat_sent(0.5)

        status, body, headers = get(server, "/healthz", host="10.1.2.3:8001")

        assert status == 200, body
        assert json.loads(body)["status"] == "ok"
        assert headers["Content-Type"] == "application/json"
        assert headers["Cache-Control"] == "no-store"

        with override_settings(CHANNEL_PREFIX=prefix):
            client().delete(health.beat_key())
        # Answers are kept for a second (a flood costs one run a second): then it says so.
        until(lambda: get(server, "/healthz")[0] == 503, 30, "/healthz to see beat gone")
        status, body, _ = get(server, "/healthz", host="10.1.2.3:8001")

        assert status == 503
        assert json.loads(body)["failed"] == ["beat"]
        assert get(server, "/healthz", method="HEAD")[1] == b""
        assert get(server, "/healthz", method="POST")[0] == 405
        # Everything else still goes through Django: plain http redirected to https.
        assert get(server, "/", host="power.example.org")[0] == 301
    finally:
        server.stop()


def test_celery_beat_records_each_task_it_sends(tmp_path):
    """The real beat process, with the project's schedule: /healthz's "beat's last run"."""
    prefix = f"health{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "CELC_CHANNEL_PREFIX": prefix, "DJANGO_DEBUG": "1"}
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celc", "beat", "--loglevel", "WARNING",
         "--schedule", str(tmp_path / "schedule")],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with override_settings(CHANNEL_PREFIX=prefix):
            until(lambda: client().get(health.beat_key()) is not None, 60, "beat's record")
            first = float(client().get(health.beat_key()))
            until(lambda: float(client().get(health.beat_key())) > first, 30, "a later send")
            assert abs(time.time() - float(client().get(health.beat_key()))) < 30
            client().delete(health.beat_key())
    finally:
        beat.terminate()
        beat.wait(timeout=30)
    # Beat's tasks went to the broker for nobody: leave no queue behind for other tests.
    client().delete("celery")


async def test_many_callers_at_once_cost_one_run_of_the_checks(monkeypatch):
    """A flood of /healthz: one run a second at most, whatever the number of callers."""
    runs = []

    def counted(lag, done):
        runs.append(lag)
        time.sleep(0.2)
        return True, {"status": "ok", "failed": [], "checks": {}}

    monkeypatch.setattr(health, "health", counted)
    monkeypatch.setattr(ops, "_health", {"at": None, "result": None, "running": None, "done": {}})

    answers = await asyncio.gather(*(ops.current_health(0.0) for _ in range(50)))
    again = await ops.current_health(0.0)  # within the second: the same answer

    assert len(runs) == 1
    assert all(ok for ok, _ in answers) and again[0]


async def test_a_database_that_does_not_answer_is_named_beside_what_did(monkeypatch):
    """A PostgreSQL that takes connections and never answers (the pool waits 10 s): /healthz
    answers in time, with Redis, beat and the ingest as they are and the database failed."""
    monkeypatch.setattr(ops, "_health", {"at": None, "result": None, "running": None, "done": {}})
    monkeypatch.setattr(ops, "CHECKS_TIMEOUT_SECONDS", 0.5)
    release = threading.Event()

    def hangs():
        release.wait(10)
        return health.Check("database", False, {"error": "OperationalError"})

    monkeypatch.setattr(health, "check_database", hangs)
    beat_sent(1)
    try:
        ok, body = await ops.current_health(0.0)
    finally:
        release.set()

    assert not ok
    assert body["failed"] == ["database", "accrual"]
    assert body["checks"]["database"]["error"] == "timeout"
    assert body["checks"]["redis"]["ok"] and body["checks"]["beat"]["ok"]
