"""Open-loop device load: N devices each send an `off` tick every second, whatever the acks do.

    python -m bench.loadgen --tokens FILE --urls ws://127.0.0.1:8001/ws/device/,... \\
        --duration 60 --out result.json

Devices are spread over the URLs (as a load balancer would), connect at
`--ramp` per second, then tick on their own phase within the second. The
ack latency of a tick is the time from its send to the first ack covering
its seq. Writes a JSON summary with a timeline per 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import time
from collections import defaultdict
from datetime import datetime

from websockets.asyncio.client import connect


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Stats:
    def __init__(self, start: float):
        self.start = start
        self.sent = 0
        self.acked = 0
        self.latencies: list[float] = []
        self.errors: dict[str, int] = defaultdict(int)
        self.timeline: dict[int, dict] = defaultdict(
            lambda: {"sent": 0, "acked": 0, "latencies": []}
        )
        self.connected = 0

    def bucket(self, now: float) -> dict:
        return self.timeline[int((now - self.start) // 10)]


async def device(
    token: str,
    url: str,
    stats: Stats,
    stop_at: float,
    phase: float,
    seq0: int,
    every: float = 1.0,
    power: str = "off",
) -> None:
    pending: dict[int, float] = {}
    try:
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            compression=None,
            proxy=None,
            open_timeout=30,
            ping_interval=None,
            max_queue=None,
        ) as ws:
            stats.connected += 1

            async def receive():
                async for frame in ws:
                    message = json.loads(frame)
                    now = time.monotonic()
                    if message.get("type") == "ack":
                        covered = [s for s in pending if s <= message["seq"]]
                        bucket = stats.bucket(now)
                        for s in covered:
                            latency = now - pending.pop(s)
                            stats.latencies.append(latency)
                            bucket["latencies"].append(latency)
                        stats.acked += len(covered)
                        bucket["acked"] += len(covered)
                    else:
                        stats.errors[message.get("code", "unknown")] += 1

            receiver = asyncio.create_task(receive())
            loop = asyncio.get_running_loop()
            next_at = loop.time() + phase
            seq = seq0
            while True:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                if time.monotonic() >= stop_at:
                    break
                seq += 1
                ts = datetime.now().astimezone().isoformat(timespec="milliseconds")
                pending[seq] = time.monotonic()
                await ws.send(f'{{"type":"tick","seq":{seq},"ts":"{ts}","power":"{power}"}}')
                stats.sent += 1
                stats.bucket(pending[seq])["sent"] += 1
                next_at += every  # open loop: the schedule never waits for acks
            await asyncio.sleep(3)  # let the last acks arrive
            receiver.cancel()
    except Exception as error:  # a benchmark counts failures, it does not stop on them
        stats.errors[type(error).__name__] += 1


async def main_async(args) -> dict:
    with open(args.tokens) as file:
        tokens = json.load(file)
    urls = args.urls.split(",")
    rng = random.Random(7)
    start = time.monotonic()
    ramp_seconds = len(tokens) / args.ramp
    stop_at = start + ramp_seconds + args.duration
    stats = Stats(start + ramp_seconds)
    seq0 = int(time.time() * 1000)
    tasks = []
    for index, token in enumerate(tokens):
        tasks.append(
            asyncio.create_task(
                device(
                    token,
                    urls[index % len(urls)],
                    stats,
                    stop_at,
                    rng.random() * (args.heartbeat if args.idle else 1),
                    seq0,
                    every=args.heartbeat if args.idle else 1.0,
                    power="on" if args.idle else "off",
                )
            )
        )
        if index % args.ramp == args.ramp - 1:
            await asyncio.sleep(1)
    await asyncio.gather(*tasks)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = time.monotonic() - start
    lat = stats.latencies
    timeline = [
        {
            "t": key * 10,
            "sent_per_s": b["sent"] / 10,
            "acked_per_s": b["acked"] / 10,
            "ack_p50_ms": _ms(percentile(b["latencies"], 0.5)),
            "ack_p99_ms": _ms(percentile(b["latencies"], 0.99)),
        }
        for key, b in sorted(stats.timeline.items())
        if key >= 0
    ]
    steady = [row for row in timeline if row["t"] + 10 <= args.duration]  # whole buckets only
    return {
        "devices": len(tokens),
        "connected": stats.connected,
        "duration_s": args.duration,
        "ticks_sent": stats.sent,
        "ticks_acked": stats.acked,
        "sent_per_s": round(sum(r["sent_per_s"] for r in steady) / max(1, len(steady)), 1),
        "acked_per_s": round(sum(r["acked_per_s"] for r in steady) / max(1, len(steady)), 1),
        "ack_p50_ms": _ms(percentile(lat, 0.5)),
        "ack_p99_ms": _ms(percentile(lat, 0.99)),
        "ack_max_ms": _ms(max(lat) if lat else None),
        "acked_within_2s": round(sum(1 for x in lat if x <= 2) / stats.sent, 5)
        if stats.sent
        else None,
        "errors": dict(stats.errors),
        "loadgen_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "loadgen_cpu_share_of_one_core": round((usage.ru_utime + usage.ru_stime) / elapsed, 3),
        "loadgen_max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "timeline": timeline,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tokens", required=True, help="JSON list of device tokens")
    parser.add_argument(
        "--urls", required=True, help="comma-separated ws:// addresses of /ws/device/"
    )
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--ramp", type=int, default=250, help="connections opened per second")
    parser.add_argument(
        "--idle",
        action="store_true",
        help="power on: one heartbeat per --heartbeat seconds instead of a tick a second",
    )
    parser.add_argument("--heartbeat", type=float, default=60)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
