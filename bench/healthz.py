"""What one run of /healthz's checks costs (celc/health.py), on the configured database.

    DJANGO_DEBUG=1 .venv/bin/python -m bench.healthz [--runs 500]

Runs the checks as /healthz does (one SELECT 1, one indexed query per accrual shard, one
Redis round trip) `--runs` times in this process and prints the median and the 99th
percentile. A web process runs them at most once a second whatever the number of callers
(celc/ops.py). Writes bench/results/healthz.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celc.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from celc import health  # noqa: E402
from devtools.stack import BASE_DIR  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args(argv)
    health.health(0.0)  # connect first
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        health.health(0.0)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    result = {
        "database": connection.vendor,
        "runs": args.runs,
        "median_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
    }
    print(
        f"{connection.vendor}: /healthz's checks take {result['median_ms']} ms "
        f"(p99 {result['p99_ms']} ms) over {args.runs} runs"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"healthz-{connection.vendor}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
