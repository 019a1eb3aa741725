"""Ingestion benchmark: N devices tick once a second into real daphne processes.

    .venv/bin/python -m bench.ticks --devices 1000 --duration 60 [--web 2] [--db postgres|sqlite]

Creates a fresh database (PostgreSQL database `celc_bench` on the local
server, or var/bench.sqlite3), registers N devices, starts `--web` daphne
processes on loopback, runs `bench.loadgen` as its own process, samples
CPU and RSS of every process, then checks the database: every acknowledged
tick must be stored. Writes bench/results/ticks-<db>-<N>-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from devtools.stack import BASE_DIR, VAR_DIR

RESULTS = BASE_DIR / "bench" / "results"
# Where the benchmarks keep their databases, tokens and profiles: the stack's own place.
VAR_DIR.mkdir(parents=True, exist_ok=True)
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/celc_bench")


def fresh_database(kind: str) -> str:
    if kind == "sqlite":
        path = VAR_DIR / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    name = PG_BENCH_URL.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_BENCH_URL


def django_env(database_url: str) -> dict:
    """The servers' environment: production settings (DEBUG off) on plain loopback HTTP.

    DEBUG on keeps each connection's last 9,000 SQL statements in memory, which
    shows as growth over a long run (and costs time); production runs with it off.
    """
    env = os.environ.copy()
    env.update(
        DATABASE_URL=database_url,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_HTTPS="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=capture,
        text=True,
    )
    return result.stdout if capture else ""


def register_devices(env: dict, n: int, path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "bench.register", str(n), str(path)],
        cwd=BASE_DIR,
        env=env,
        check=True,
    )


def register_query(env: dict, *args: str) -> str:
    """What `python -m bench.register ARGS` prints, against the benchmark database."""
    return subprocess.run(
        [sys.executable, "-m", "bench.register", *args],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def ticks_stored(env: dict, what: str = "--stored") -> int:
    return int(register_query(env, what).strip())


class Sampler(threading.Thread):
    """CPU share (% of one core) and RSS of named processes, each with its children, every second.

    CPU comes from cumulative CPU times, so a process tree (a Celery worker and its
    pool, PostgreSQL and its backends) is one figure; children that exited drop out.
    """

    def __init__(self, processes: dict[str, psutil.Process]):
        super().__init__(daemon=True)
        self.processes = processes
        self.samples: dict[str, list[tuple[float, float, float]]] = {n: [] for n in processes}
        self.stopped = threading.Event()
        self.start_time = time.monotonic()

    @staticmethod
    def _tree(proc: psutil.Process) -> tuple[float, float]:
        cpu = rss = 0.0
        for member in [proc, *proc.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                times = member.cpu_times()
                cpu += times.user + times.system
                rss += member.memory_info().rss
        return cpu, rss / 2**20

    def run(self):
        previous = {}
        for name, proc in self.processes.items():
            with contextlib.suppress(psutil.NoSuchProcess):
                previous[name] = (time.monotonic(), self._tree(proc)[0])
        while not self.stopped.wait(1.0):
            for name, proc in self.processes.items():
                with contextlib.suppress(psutil.NoSuchProcess):
                    now = time.monotonic()
                    cpu, rss = self._tree(proc)
                    then, cpu_then = previous.get(name, (now, cpu))
                    previous[name] = (now, cpu)
                    if now > then:
                        share = 100 * (cpu - cpu_then) / (now - then)
                        self.samples[name].append((now - self.start_time, share, rss))

    def summary(self) -> dict:
        out = {}
        for name, rows in self.samples.items():
            if rows:
                cpu = [c for _, c, _ in rows]
                rss = [r for _, _, r in rows]
                out[name] = {
                    "cpu_percent_mean": round(sum(cpu) / len(cpu), 1),
                    "cpu_percent_max": round(max(cpu), 1),
                    "rss_mb_start": round(rss[0], 1),
                    "rss_mb_end": round(rss[-1], 1),
                    "rss_mb_max": round(max(rss), 1),
                }
        return out

    def timeline(self, since: float = 0.0) -> list[dict]:
        """Per 10 s from `since` (seconds after the sampler started): CPU mean and RSS max."""
        buckets: dict[int, dict[str, list]] = {}
        for name, rows in self.samples.items():
            for t, cpu, rss in rows:
                if t >= since:
                    buckets.setdefault(int((t - since) // 10), {}).setdefault(name, []).append(
                        (cpu, rss)
                    )
        return [
            {
                "t": key * 10,
                **{
                    name: {
                        "cpu": round(sum(c for c, _ in rows) / len(rows), 1),
                        "rss_mb": round(max(r for _, r in rows), 1),
                    }
                    for name, rows in by_name.items()
                },
            }
            for key, by_name in sorted(buckets.items())
        ]


def postgres_server() -> psutil.Process | None:
    """The local PostgreSQL postmaster (its backends are its children), if it can be seen."""
    for proc in psutil.process_iter(["name", "ppid"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] in {"postgres", "postmaster"}:
                parent = psutil.Process(proc.info["ppid"])
                if parent.name() not in {"postgres", "postmaster"}:
                    return proc
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--web", type=int, default=os.cpu_count() or 1, help="daphne processes")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument(
        "--idle",
        action="store_true",
        help="idle devices (power on, a heartbeat a minute): measure what connections cost",
    )
    args = parser.parse_args()

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    database_url = fresh_database(args.db)
    env = django_env(database_url)
    print(f"Preparing {args.db} with {args.devices} devices…", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    tokens_path = VAR_DIR / "bench-tokens.json"
    register_devices(env, args.devices, tokens_path)

    from devtools.stack import free_port, start_daphne

    ports = [free_port() for _ in range(args.web)]
    web = [start_daphne(port, env) for port in ports]
    try:
        out = VAR_DIR / "bench-loadgen.json"
        urls = ",".join(f"ws://127.0.0.1:{port}/ws/device/" for port in ports)
        print(
            f"Running {args.devices} devices for {args.duration:.0f} s against {args.web} daphne…",
            flush=True,
        )
        loadgen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.loadgen",
                "--tokens",
                str(tokens_path),
                "--urls",
                urls,
                "--duration",
                str(args.duration),
                "--out",
                str(out),
                *(["--idle"] if args.idle else []),
            ],
            cwd=BASE_DIR,
        )
        processes = {f"daphne-{n}": psutil.Process(p.pid) for n, p in enumerate(web)}
        processes["loadgen"] = psutil.Process(loadgen.pid)
        sampler = Sampler(processes)
        sampler.start()
        loadgen.wait()
        sampler.stopped.set()
        load = json.loads(out.read_text())
        time.sleep(1)
        stored = ticks_stored(env)
        heard = ticks_stored(env, "--heard")
    finally:
        for proc in web:
            proc.terminate()
        for proc in web:
            proc.wait()

    summary = sampler.summary()
    daphnes = [v for k, v in summary.items() if k.startswith("daphne")]
    rss_start = sum(v["rss_mb_start"] for v in daphnes)
    rss_end = sum(v["rss_mb_end"] for v in daphnes)
    result = {
        "benchmark": "idle" if args.idle else "ticks",
        "servers_rss_mb_before": round(rss_start, 1),
        "servers_rss_mb_with_connections": round(rss_end, 1),
        "rss_kb_per_connection": round((rss_end - rss_start) * 1024 / max(1, load["connected"]), 1),
        "when": stamp,
        "db": args.db,
        "web_processes": args.web,
        "cores": os.cpu_count(),
        **load,
        "ticks_stored": stored,
        "devices_heard": heard,
        # Idle devices send heartbeats (power on), which make no outage ticks.
        "every_ack_stored": None if args.idle else stored >= load["ticks_acked"],
        "processes": sampler.summary(),
    }
    path = RESULTS / f"{result['benchmark']}-{args.db}-{args.devices}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    keys = [
        "devices",
        "connected",
        "sent_per_s",
        "acked_per_s",
        "ack_p50_ms",
        "ack_p99_ms",
        "acked_within_2s",
        "ticks_stored",
        "devices_heard",
        "every_ack_stored",
        "errors",
        "loadgen_cpu_share_of_one_core",
        "servers_rss_mb_before",
        "servers_rss_mb_with_connections",
        "rss_kb_per_connection",
    ]
    print(json.dumps({k: result[k] for k in keys}, indent=2))
    print(json.dumps(result["processes"], indent=2))
    print(f"Wrote {path.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
