"""What counting for Prometheus costs the web process (common/metrics.py, devices.hub).

    .venv/bin/python -m bench.metrics [--devices 3000]

Times one counter increment and one histogram observation, in a fresh process each, with
and without PROMETHEUS_MULTIPROC_DIR (best of 5 runs of 200,000 calls), then works out
what the hub's counting costs a second with `--devices` devices ticking once a second and
ten flushes a second (ticks, stored ticks and acks counted once per flush, the ingest lag
set once, at most 50 ack latencies observed per flush), beside counting every tick one by
one (the first design). Writes bench/results/metrics.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from devtools.stack import BASE_DIR

RESULTS = BASE_DIR / "bench" / "results"
FLUSHES_PER_SECOND = 10
LATENCY_SAMPLE = 50  # devices.hub.LATENCY_SAMPLE (importing it needs Django set up)

PROBE = """
import sys, time
from prometheus_client import Counter, Histogram
from common.metrics import ACK_LATENCY
counter = Counter("bench_calls", "calls")
n = 200_000

def best(call):
    fastest = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            call()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest / n * 1e6

print(best(counter.inc), best(lambda: ACK_LATENCY.observe(0.12)))
"""


def per_call(multiprocess_dir: str | None) -> tuple[float, float]:
    env = {key: value for key, value in os.environ.items() if key != "PROMETHEUS_MULTIPROC_DIR"}
    if multiprocess_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = multiprocess_dir
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    inc, observe = (float(word) for word in out.split())
    return inc, observe


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=3000)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for mode, path in (("in memory", None), ("multiprocess", directory)):
            inc, observe = per_call(path)
            per_flush = 4 * inc + min(LATENCY_SAMPLE, args.devices) * observe
            batched = per_flush * FLUSHES_PER_SECOND / 1e6
            one_by_one = args.devices * (3 * inc + observe) / 1e6
            results[mode] = {
                "inc_us": round(inc, 2),
                "observe_us": round(observe, 2),
                "per_flush_core_share": round(batched, 4),
                "per_tick_core_share": round(one_by_one, 4),
            }
            print(
                f"{mode:13} inc {inc:5.2f} µs, observe {observe:5.2f} µs; at {args.devices:,} "
                f"devices: {batched:.1%} of a core counted per flush "
                f"({one_by_one:.1%} counted per tick)"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "metrics.json").write_text(
        json.dumps({"devices": args.devices, **results}, indent=2) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
