"""Is this deployment working? The checks behind /healthz (celc/ops.py), as plain functions.

Each check is cheap (one query, one Redis round trip, or a look at this process's
memory) so that a load balancer may ask every few seconds:

- database: `SELECT 1`;
- redis: `PING`;
- beat: beat sends the accrual every second; each send records the time in Redis
  (`record_beat_sent`, on Celery's after_task_publish in the beat process only). Older
  than the limit: beat is down, or cannot reach Redis;
- accrual: the newest accrual run of each shard (payouts.AccrualRun) finished within the
  limit: the worker takes beat's tasks and the database takes its writes;
- ingest: the oldest tick this web process holds has waited less than the limit to be
  stored (devices.hub). Each web process answers for its own: the proxy's health checks
  reach each one.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from common.live import client
from payouts.models import AccrualRun


@dataclass
class Check:
    name: str
    ok: bool
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"ok": self.ok, **self.detail}


def beat_key() -> str:
    return f"{settings.CHANNEL_PREFIX}:beat:last-sent"


_in_beat = False


def watch_beat(**kwargs) -> None:
    """Celery's beat_init: this process is beat, whose sends /healthz watches."""
    global _in_beat
    _in_beat = True


def record_beat_sent(**kwargs) -> None:
    """Celery's after_task_publish: in beat (not the web processes, which send tasks too),
    record when. Best effort: beat goes on if Redis does not answer."""
    if _in_beat:
        with contextlib.suppress(redis.RedisError, OSError):
            client().set(beat_key(), repr(time.time()), ex=24 * 3600)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        connection.close()
        return Check("database", False, {"error": type(error).__name__})
    return Check("database", True)


def check_redis_and_beat(now: float) -> tuple[Check, Check]:
    """One round trip: PING, and the time beat last sent a task."""
    try:
        with client().pipeline(transaction=False) as pipe:
            pipe.ping()
            pipe.get(beat_key())
            _, sent = pipe.execute()
    except (redis.RedisError, OSError) as error:
        failed = {"error": type(error).__name__}
        return Check("redis", False, failed), Check("beat", False, {"error": "redis"})
    if sent is None:
        return Check("redis", True), Check("beat", False, {"error": "never ran"})
    age = max(0.0, now - float(sent))
    limit = settings.HEALTH_BEAT_SECONDS
    return Check("redis", True), Check("beat", age <= limit, {"seconds_ago": round(age, 3)})


def newest_runs() -> dict[int, tuple | None]:
    """(finished at, duration in ms) of each shard's newest accrual run, of the shards
    configured now (None: never ran); one indexed query a shard. /metrics reads it too."""
    shards = settings.ACCRUAL_SHARDS
    return {
        shard: AccrualRun.objects.filter(shard=shard, shards=shards)
        .order_by("-started_at")
        .values_list("finished_at", "duration_ms")
        .first()
        for shard in range(shards)
    }


def check_accrual(now=None) -> Check:
    """The newest run of each shard (of the shards configured now) finished lately."""
    now = now or timezone.now()
    try:
        lags = {
            shard: None if run is None else (now - run[0]).total_seconds()
            for shard, run in newest_runs().items()
        }
    except Exception as error:
        connection.close()
        return Check("accrual", False, {"error": type(error).__name__})
    known = [lag for lag in lags.values() if lag is not None]
    if len(known) < len(lags):
        return Check("accrual", False, {"error": "never ran"})
    lag = max(0.0, max(known))
    ok = lag <= settings.HEALTH_ACCRUAL_LAG_SECONDS
    return Check("accrual", ok, {"lag_seconds": round(lag, 3)})


def check_ingest(lag: float) -> Check:
    return Check(
        "ingest", lag <= settings.HEALTH_INGEST_LAG_SECONDS, {"lag_seconds": round(lag, 3)}
    )


NAMES = ("database", "redis", "beat", "accrual", "ingest")


def health(ingest_lag: float, done: dict[str, Check] | None = None) -> tuple[bool, dict]:
    """Every check, and whether all passed: the body of /healthz. Each result goes into
    `done` as soon as it is known (those that do not need the database first), so that a
    caller that stops waiting can still say which ones passed."""
    done = {} if done is None else done
    done["ingest"] = check_ingest(ingest_lag)
    done["redis"], done["beat"] = check_redis_and_beat(time.time())
    done["database"] = check_database()
    done["accrual"] = (
        check_accrual() if done["database"].ok else Check("accrual", False, {"error": "database"})
    )
    return report(done)


def report(done: dict[str, Check]) -> tuple[bool, dict]:
    """/healthz's body from the checks that finished; one that did not, failed by timeout."""
    checks = [done.get(name) or Check(name, False, {"error": "timeout"}) for name in NAMES]
    failed = [check.name for check in checks if not check.ok]
    body = {
        "status": "fail" if failed else "ok",
        "failed": failed,
        "checks": {check.name: check.as_dict() for check in checks},
    }
    return not failed, body
