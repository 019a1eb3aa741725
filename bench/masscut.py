"""A mass power cut, end to end: N devices tick every second and every household watches.

    .venv/bin/python -m bench.masscut --devices 3000 --duration 300 [--web 2] [--shards 2]
        [--db postgres|sqlite]          (`make bench` runs this with BENCH_ARGS)

Starts the whole stack on loopback as production runs it, on a fresh
database (PostgreSQL `celc_bench`, or var/bench.sqlite3): a private Redis,
`--web` daphne processes, a Celery worker with `--shards` pool processes
and Celery beat running the accrual every second in `--shards` shards.
`bench.loadgen` (its own process) opens N household sockets on
`/ws/balance/`, then N device sockets, each household on a different daphne
process from its device; each device sends an `off` tick every second, open
loop, for the time held, then an `on` tick: the households' pages must hear
the cut start and the power back. Afterwards it reads what the database stored and the
accrual runs made. Writes bench/results/masscut-<db>-<N>-<time>.json with
the figures, CPU and RSS per process and a timeline per 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median

import psutil

from bench.ticks import (
    BASE_DIR,
    RESULTS,
    VAR_DIR,
    Sampler,
    django_env,
    fresh_database,
    manage,
    postgres_server,
    register_query,
    ticks_stored,
)
from devtools.stack import Stack, daphne_argv, free_port, redis_argv, wait_for_port

RAMP_PER_SECOND = 250  # device connections opened per second (bench.loadgen's default)


def accrual_runs(env: dict, since: datetime, until: datetime) -> list[dict]:
    return json.loads(register_query(env, "--runs", since.isoformat(), until.isoformat()))


def profile(targets: dict[str, int], after: float, seconds: float, stamp: str, out: dict) -> None:
    """py-spy samples of each target (collapsed stacks in var/), summarised as top self time."""
    time.sleep(after)
    procs = {}
    for name, pid in targets.items():
        path = VAR_DIR / f"profile-{stamp}-{name}.txt"
        argv = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--format",
            "raw",
            "--nonblocking",
            "-r",
            "100",
        ]
        procs[name] = (
            path,
            subprocess.Popen(
                [*argv, "-d", str(int(seconds)), "-p", str(pid), "-o", str(path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        )
    for name, (path, proc) in procs.items():
        proc.wait()
        out[name] = top_self(path) if path.exists() else []


def top_self(path, n: int = 15) -> list[tuple[str, float]]:
    """The functions with the most samples at the top of the stack, as shares of all samples."""
    counts: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        counts[leaf] = counts.get(leaf, 0) + int(count)
        total += int(count)
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:n]
    return [(leaf, round(count / max(1, total), 3)) for leaf, count in ranked]


def start_stack(stack: Stack, env: dict, web: int, shards: int) -> list[int]:
    """Redis, daphne x web, a worker and beat; returns the daphne ports once all listen."""
    var = VAR_DIR / "bench-stack"
    var.mkdir(parents=True, exist_ok=True)
    redis_port = free_port()
    redis = stack.start("redis", redis_argv(redis_port, var))
    if not wait_for_port("127.0.0.1", redis_port, 20, alive=lambda: redis.poll() is None):
        raise RuntimeError("redis-server did not start")
    env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    env["CELC_ACCRUAL_SHARDS"] = str(shards)
    ports = [free_port() for _ in range(web)]
    for n, port in enumerate(ports):
        stack.start(f"daphne-{n}", daphne_argv("127.0.0.1", port), env)
    celery = [sys.executable, "-m", "celery", "-A", "celc"]
    stack.start(
        "worker",
        [*celery, "worker", "--loglevel", "WARNING", "--concurrency", str(shards), "-O", "fair"],
        env,
    )
    (var / "celerybeat-schedule").unlink(missing_ok=True)
    stack.start(
        "beat",
        [*celery, "beat", "--loglevel", "WARNING", "--schedule", str(var / "celerybeat-schedule")],
        env,
    )
    for n, port in enumerate(ports):
        proc = stack.processes[f"daphne-{n}"]
        if not wait_for_port("127.0.0.1", port, 60, alive=lambda p=proc: p.poll() is None):
            raise RuntimeError(f"daphne-{n} did not start")
    return ports


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=300, help="seconds held after the ramp")
    parser.add_argument("--web", type=int, default=os.cpu_count() or 1, help="daphne processes")
    parser.add_argument("--shards", type=int, default=os.cpu_count() or 1, help="accrual shards")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--profile",
        type=float,
        default=0,
        metavar="SECONDS",
        help="sample daphne-0 and the worker with py-spy for this long, mid-run",
    )
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    env = django_env(fresh_database(args.db))
    print(f"Preparing {args.db}: {args.devices} households, one device each…", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    tokens_path = VAR_DIR / "bench-tokens.json"
    sessions_path = VAR_DIR / "bench-sessions.json"
    subprocess.run(
        [sys.executable, "-m", "bench.register", str(args.devices), tokens_path, sessions_path],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )

    stack = Stack(echo=False)
    try:
        ports = start_stack(stack, env, args.web, args.shards)
        out = VAR_DIR / "bench-loadgen.json"
        urls = ",".join(f"ws://127.0.0.1:{port}/ws/device/" for port in ports)
        print(
            f"Cutting power to {args.devices} devices for {args.duration:.0f} s "
            f"({args.web} daphne, {args.shards} accrual shards), households watching…",
            flush=True,
        )
        loadgen = stack.start(
            "loadgen",
            [
                sys.executable, "-m", "bench.loadgen", "--tokens", str(tokens_path),
                "--sessions", str(sessions_path), "--urls", urls,
                "--duration", str(args.duration), "--ramp", str(RAMP_PER_SECOND),
                "--out", str(out),
            ],
            env,
        )  # fmt: skip
        watched = {name: psutil.Process(p.pid) for name, p in stack.processes.items()}
        if args.db == "postgres" and (server := postgres_server()) is not None:
            watched["postgres"] = server
        sampler = Sampler(watched)
        sampler.start()

        # ticks stored per second over the held window (after the ramp)
        ramp = 2 * args.devices / RAMP_PER_SECOND  # households' sockets first, then devices'
        stored_marks: list[tuple[float, int]] = []
        window = [datetime.now(UTC), datetime.now(UTC)]  # the held window, wall clock

        def mark_stored():
            time.sleep(ramp + 5)
            window[0] = datetime.now(UTC)
            stored_marks.append((time.monotonic(), ticks_stored(env)))
            time.sleep(max(0.0, args.duration - 10))
            window[1] = datetime.now(UTC)
            stored_marks.append((time.monotonic(), ticks_stored(env)))

        marker = threading.Thread(target=mark_stored, daemon=True)
        marker.start()
        profiles: dict[str, list] = {}
        if args.profile:
            targets = {"daphne-0": stack.processes["daphne-0"].pid}
            targets.update(
                {
                    f"worker-pool-{n}": child.pid
                    for n, child in enumerate(
                        psutil.Process(stack.processes["worker"].pid).children()
                    )
                }
            )
            profiler = threading.Thread(
                target=profile,
                args=(targets, ramp + args.duration / 3, args.profile, stamp, profiles),
                daemon=True,
            )
            profiler.start()
        loadgen.wait()
        sampler.stopped.set()
        marker.join(timeout=30)
        load = json.loads(out.read_text())
        time.sleep(1)
        stored = ticks_stored(env)
        runs = accrual_runs(env, *window)
        time.sleep(3)  # the cut's end posted in full by the next runs
        ledger = json.loads(register_query(env, "--ledger"))
        crashed = [name for name, p in stack.processes.items() if name != "loadgen" and p.poll()]
    finally:
        stack.stop()

    durations = [run["duration_ms"] for run in runs]
    held = args.duration
    if len(stored_marks) == 2:
        held = stored_marks[1][0] - stored_marks[0][0]
    processes = sampler.summary()
    result = {
        "benchmark": "masscut",
        "when": stamp,
        "db": args.db,
        "web_processes": args.web,
        "accrual_shards": args.shards,
        "cores": os.cpu_count(),
        **{k: v for k, v in load.items() if k != "timeline"},
        "stored_per_s": round((stored_marks[1][1] - stored_marks[0][1]) / held, 1)
        if len(stored_marks) == 2
        else None,
        "ticks_stored": stored,
        "every_ack_stored": stored >= load["ticks_acked"],
        "accrual_runs": len(runs),
        "accrual_runs_expected": round(held) * args.shards,
        "accrual_run_p50_ms": median(durations) if durations else None,
        "accrual_run_max_ms": max(durations) if durations else None,
        "accrual_outages_per_run_max": max((r["outages"] for r in runs), default=0),
        "servers_crashed": crashed,
        "ledger_entries_per_outage_hour": round(
            ledger["accrual_entries"] / ledger["outage_hours"], 1
        )
        if ledger["outage_hours"]
        else None,
        "processes": processes,
        "rss_kb_per_device_connection": round(
            sum(v["rss_mb_max"] - v["rss_mb_start"] for k, v in processes.items() if "daphne" in k)
            * 1024
            / max(1, load["connected"] + load.get("watching", 0)),
            1,
        ),
        "profiles_top_self": profiles,
        "timeline": load["timeline"],
        "process_timeline": sampler.timeline(),
    }
    path = RESULTS / f"masscut-{args.db}-{args.devices}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    keys = [
        "devices", "connected", "watching", "sent_per_s", "stored_per_s", "acked_per_s",
        "ack_p50_ms", "ack_p99_ms", "acked_within_2s", "cut_started_seen", "cut_seen_p50_ms",
        "cut_seen_p99_ms", "power_back_seen", "back_seen_p50_ms", "back_seen_p99_ms",
        "quotes_per_s", "accrual_run_p50_ms", "accrual_run_max_ms",
        "ledger_entries_per_outage_hour",
        "accrual_runs", "accrual_runs_expected", "every_ack_stored", "errors",
        "servers_crashed", "loadgen_cpu_share_of_one_core", "rss_kb_per_device_connection",
    ]  # fmt: skip
    print(json.dumps({k: result.get(k) for k in keys}, indent=2))
    print(json.dumps(processes, indent=2))
    print(f"Wrote {path.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
