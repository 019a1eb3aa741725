"""The per-second accrual runs over N ongoing outages, on checkpoints.

    .venv/bin/python -m bench.accrual --outages 100000 [--runs 120] [--shards 2]
        [--db postgres|sqlite]

A fresh database with N households, each with a device in an ongoing
outage of up to two hours, posted once by each shard's first run (as the
runs before would have: each outage is then due at its own second of every
CELC_ACCRUAL_CHECKPOINT_SECONDS); then
`--runs` runs, a second apart: every outage's last tick moves one second on
(as a second of ticks would; ticking on is not an event) and one run per
shard, in parallel processes as workers take them, posts what is due.
Reports each run's time (p50, p99, max), what it posted, the checkpoints
overdue after the runs and the oldest posting of an open outage (every
outage must be posted within its interval), the ledger entries per outage-hour, and what an open
board page costs.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.ticks import BASE_DIR, RESULTS, VAR_DIR, django_env, fresh_database, manage


def run_shard(moment, shard: int, shards: int) -> dict:
    """One shard's run in a worker process (no page is open: no quotes)."""
    from django.db import connection

    from payouts import accrual

    t0 = time.perf_counter()
    result = accrual.accrue(now=moment, shard=shard, shards=shards)
    t1 = time.perf_counter()
    connection.close()
    return {
        "accrual_ms": round((t1 - t0) * 1000),
        "phases_ms": result.phases,
        "outages": result.outages,
        "posted": len(result.posted),
    }


def percentile(values, q: float):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outages", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="run the shards in parallel processes, as workers would",
    )
    args = parser.parse_args()

    database_url = fresh_database(args.db)
    env = django_env(database_url)
    manage(env, "migrate", "--noinput", "-v", "0")
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celc.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from bench.register import register
    from devices.models import Device, Outage

    tokens_file = Path(VAR_DIR / "bench-accrual-tokens.json")
    tokens, _ = register(args.outages)
    tokens_file.write_text(json.dumps(tokens))
    rng = random.Random(3)
    now = timezone.now()
    with transaction.atomic():
        devices = list(Device.objects.values_list("pk", flat=True))
        outages = []
        for pk in devices:
            start = now - timedelta(seconds=rng.randint(60, 7200))
            outages.append(
                Outage(
                    device_id=pk,
                    status="ongoing",
                    started_at=start,
                    last_tick_at=now,
                    first_seq=1,
                    last_seq=1,
                    ticks_received=1,
                    open_interval_start=start,
                    updated_at=now,
                )
            )
        Outage.objects.bulk_create(outages, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE devices_device SET power_state = 'off', last_seen_at = %s, "
                "current_outage_id = "
                "(SELECT id FROM devices_outage o WHERE o.device_id = devices_device.id)",
                [connection.ops.adapt_datetimefield_value(now)],
            )
    if connection.vendor == "postgresql":
        # Statistics for the planner, as autoanalyze gives a production database after a
        # load like this one; this machine's PostgreSQL runs with autovacuum off.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    from payouts import accrual
    from payouts.models import AccrualState, LedgerEntry

    checkpoint = accrual.CHECKPOINT.total_seconds()
    print(f"{args.outages} ongoing outages: posting them once (as earlier runs would)…", flush=True)
    t0 = time.perf_counter()
    for shard in range(args.shards):  # each shard's first run: everything, due from then on
        accrual.accrue(now=now, everything=True, shard=shard, shards=args.shards)
    first_ms = round((time.perf_counter() - t0) * 1000)
    entries_before = LedgerEntry.objects.count()
    print(f"first run {first_ms} ms; {args.runs} runs, a second apart…", flush=True)

    runs = []
    connection.close()
    pool = multiprocessing.get_context("fork").Pool(args.shards)
    for n in range(args.runs):
        moment = now + timedelta(seconds=n + 1)
        Outage.objects.update(last_tick_at=moment)  # a second of ticks: not an event
        connection.close()
        t0 = time.perf_counter()
        shards = pool.starmap(
            run_shard, [(moment, shard, args.shards) for shard in range(args.shards)]
        )
        wall = time.perf_counter() - t0
        runs.append(
            {
                "wall_ms": round(wall * 1000),
                "accrual_ms": max(r["accrual_ms"] for r in shards),
                "outages": sum(r["outages"] for r in shards),
                "posted": sum(r["posted"] for r in shards),
                "shards": shards,
            }
        )
        if n % 10 == 0:
            print({k: v for k, v in runs[-1].items() if k != "shards"}, flush=True)
    pool.close()
    # Every open outage must be due again within the interval: none overdue after the runs
    # (a checkpoint missed), so none was last posted more than an interval ago.
    open_states = AccrualState.objects.filter(open=True)
    overdue = open_states.filter(due_at__lt=moment).count()
    # The earliest due was posted at most an interval before it: its posting is the oldest.
    earliest = open_states.order_by("due_at").values_list("due_at", flat=True).first()
    oldest_age = checkpoint - (earliest - moment).total_seconds() if earliest else None
    entries = LedgerEntry.objects.count() - entries_before
    outage_hours = args.outages * args.runs / 3600
    # What an open /board/ page costs the worker every CELC_BOARD_LIVE_SECONDS.
    from board import live as board

    board_ms = []
    for _ in range(3):
        t0 = time.perf_counter()
        board.live_payload(moment)
        board_ms.append(round((time.perf_counter() - t0) * 1000))
    print({"board_live_ms": board_ms}, flush=True)
    times = [r["wall_ms"] for r in runs]
    result = {
        "benchmark": "accrual",
        "when": datetime.now(UTC).strftime("%Y%m%d-%H%M%S"),
        "db": args.db,
        "outages": args.outages,
        "checkpoint_s": checkpoint,
        "shards": args.shards,
        "first_run_everything_ms": first_ms,
        "run_ms_p50": statistics.median(times),
        "run_ms_p99": percentile(times, 0.99),
        "run_ms_max": max(times),
        "outages_per_run_p50": statistics.median(r["outages"] for r in runs),
        "posted_per_run_p50": statistics.median(r["posted"] for r in runs),
        "checkpoints_overdue": overdue,
        "oldest_posting_age_s": round(oldest_age, 1) if oldest_age is not None else None,
        "ledger_entries_per_outage_hour": round(entries / outage_hours, 1),
        "board_live_ms_p50": statistics.median(board_ms),
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"accrual-{args.db}-{args.outages}-{result['when']}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
