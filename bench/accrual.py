"""One accrual run over N ongoing outages, and its broadcasts.

    .venv/bin/python -m bench.accrual --outages 50000 [--runs 5] [--db postgres|sqlite]

A fresh database with N households, each with a device in an ongoing
outage of up to two hours; then, `--runs` times: every outage's last tick
moves one second on (as a second of ticks would), and one accrual run
posts what each is owed, then the per-household payloads are built and
published on the real Redis channel layer. Reports run times.
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
from datetime import datetime, timedelta
from pathlib import Path

from bench.ticks import BASE_DIR, RESULTS, django_env, fresh_database, manage


def run_shard(moment, shard: int, shards: int) -> dict:
    """One shard's run, its payloads and its publishing, in a worker process."""
    from django.db import connection

    from accounts.broadcast import send_household_updates
    from payouts import accrual

    t0 = time.perf_counter()
    result = accrual.accrue(now=moment, shard=shard, shards=shards)
    t1 = time.perf_counter()
    payloads = accrual.device_states(result.households, result, accrual.current_policies(), moment)
    t2 = time.perf_counter()
    sent = send_household_updates(payloads)
    t3 = time.perf_counter()
    connection.close()
    return {
        "accrual_ms": round((t1 - t0) * 1000),
        "payloads_ms": round((t2 - t1) * 1000),
        "publish_ms": round((t3 - t2) * 1000),
        "phases_ms": result.phases,
        "posted": len(result.posted),
        "broadcasts": sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outages", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=5)
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

    tokens_file = Path(BASE_DIR / "var" / "bench-accrual-tokens.json")
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
    print(f"{args.outages} ongoing outages ready; {args.runs} runs…", flush=True)

    runs = []
    connection.close()
    pool = multiprocessing.get_context("fork").Pool(args.shards)
    for n in range(args.runs + 1):  # the first run posts everything from scratch: reported apart
        moment = now + timedelta(seconds=n + 1)
        Outage.objects.update(last_tick_at=moment, updated_at=moment)
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
                "payloads_ms": max(r["payloads_ms"] for r in shards),
                "publish_ms": max(r["publish_ms"] for r in shards),
                "posted": sum(r["posted"] for r in shards),
                "broadcasts": sum(r["broadcasts"] for r in shards),
                "shards": shards,
            }
        )
        print({k: v for k, v in runs[-1].items() if k != "shards"}, flush=True)
    pool.close()
    steady = runs[1:]
    # What an open /board/ page costs the worker every CELC_BOARD_LIVE_SECONDS.
    from payouts import board

    board_ms = []
    for _ in range(3):
        t0 = time.perf_counter()
        board.live_payload(moment)
        board_ms.append(round((time.perf_counter() - t0) * 1000))
    print({"board_live_ms": board_ms}, flush=True)
    result = {
        "benchmark": "accrual",
        "when": datetime.now().strftime("%Y%m%d-%H%M%S"),
        "db": args.db,
        "outages": args.outages,
        "first_run": runs[0],
        "runs": steady,
        "accrual_ms_p50": statistics.median(r["accrual_ms"] for r in steady),
        "accrual_ms_max": max(r["accrual_ms"] for r in steady),
        "broadcast_ms_p50": statistics.median(r["payloads_ms"] + r["publish_ms"] for r in steady),
        "shards": args.shards,
        "wall_ms_p50": statistics.median(r["wall_ms"] for r in steady),
        "wall_ms_max": max(r["wall_ms"] for r in steady),
        "board_live_ms_p50": statistics.median(board_ms),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"accrual-{args.db}-{args.outages}-{result['when']}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
