"""Open-loop device load: N devices each send an `off` tick every second, whatever the acks do.

    python -m bench.loadgen --tokens FILE --urls ws://127.0.0.1:8001/ws/device/,... \\
        --duration 60 --out result.json

Devices are spread over the URLs (as a load balancer would), connect at
`--ramp` per second, then tick on their own phase within the second. The
ack latency of a tick is the time from its send to the first ack covering
its seq. Writes a JSON summary with a timeline per 10 s.

With `--sessions FILE` (a signed-in session key per device's household)
every household also watches `/ws/balance/` on the next server along (so
its updates cross processes), and the tick-to-household-update latency of
a tick is the time from its send to the first update whose device state
counts it (`last_tick_at` at or past the tick's own timestamp).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import resource
import time
from collections import defaultdict, deque
from datetime import UTC, datetime

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
            lambda: {"sent": 0, "acked": 0, "latencies": [], "updates": 0, "update_latencies": []}
        )
        self.connected = 0
        self.watching = 0
        self.updates = 0
        self.update_latencies: list[float] = []
        self.deliveries: list[float] = []  # from the accrual run's `at` to the household

    def bucket(self, now: float) -> dict:
        return self.timeline[int((now - self.start) // 10)]


def _connect(url: str, headers: dict):
    """A client socket as a benchmark wants it: no compression, pings or queue limits."""
    return connect(
        url,
        additional_headers=headers,
        compression=None,
        proxy=None,
        open_timeout=30,
        ping_interval=None,
        max_queue=None,
    )


async def device(
    token: str,
    url: str,
    stats: Stats,
    stop_at: float,
    phase: float,
    seq0: int,
    every: float = 1.0,
    power: str = "off",
    unseen: deque | None = None,
) -> None:
    pending: dict[int, float] = {}
    try:
        async with _connect(url, {"Authorization": f"Bearer {token}"}) as ws:
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
                ms = int(time.time() * 1000)
                ts = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
                pending[seq] = time.monotonic()
                if unseen is not None:
                    unseen.append((ms, pending[seq]))
                await ws.send(f'{{"type":"tick","seq":{seq},"ts":"{ts}","power":"{power}"}}')
                stats.sent += 1
                stats.bucket(pending[seq])["sent"] += 1
                next_at += every  # open loop: the schedule never waits for acks
            await asyncio.sleep(3)  # let the last acks arrive
            receiver.cancel()
    except Exception as error:  # a benchmark counts failures, it does not stop on them
        stats.errors[type(error).__name__] += 1


async def watcher(
    session_key: str, url: str, origin: str, unseen: deque, stats: Stats, ready: asyncio.Event
) -> None:
    """A household's dashboard socket: times each tick until an update counts it.

    Like the page's script it reconnects when refused (up to 5 tries, a second apart).
    """
    for attempt in range(5):
        try:
            async with _connect(
                url, {"Cookie": f"sessionid={session_key}", "Origin": origin}
            ) as ws:
                stats.watching += 1
                ready.set()
                async for frame in ws:
                    _household_update(json.loads(frame), unseen, stats)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:  # counted, as the devices' are
            stats.errors[f"watcher {type(error).__name__}: {str(error)[:60]}"] += 1
            if stats.watching and ready.is_set():
                stats.watching -= 1
            ready.set() if attempt == 4 else None
            await asyncio.sleep(1)


def _household_update(message: dict, unseen: deque, stats: Stats) -> None:
    if "devices" not in message:
        return  # the heartbeat
    now = time.monotonic()
    run_at = datetime.fromisoformat(message["at"]).timestamp()
    stats.deliveries.append(time.time() - run_at)
    bucket = stats.bucket(now)
    stats.updates += 1
    bucket["updates"] += 1
    for state in message["devices"]:
        outage = state.get("outage") or {}
        if not outage.get("last_tick_at"):
            continue
        counted = round(datetime.fromisoformat(outage["last_tick_at"]).timestamp() * 1000)
        while unseen and unseen[0][0] <= counted:
            latency = now - unseen.popleft()[1]
            stats.update_latencies.append(latency)
            bucket["update_latencies"].append(latency)


async def main_async(args) -> dict:
    with open(args.tokens) as file:
        tokens = json.load(file)
    urls = args.urls.split(",")
    sessions = None
    if args.sessions:
        with open(args.sessions) as file:
            sessions = json.load(file)
    ramp_seconds = len(tokens) / args.ramp
    began = time.monotonic()
    stats = Stats(began)
    watchers = []
    unseen_by_device: list[deque | None] = [None] * len(tokens)
    if sessions is not None:
        # The households are watching before the cut: open their sockets first.
        readiness = []
        for index in range(len(tokens)):
            unseen_by_device[index] = deque()
            url = urls[(index + 1) % len(urls)].replace("/ws/device/", "/ws/balance/")
            origin = url.replace("ws://", "http://").split("/ws/")[0]
            ready = asyncio.Event()
            readiness.append(ready)
            watchers.append(
                asyncio.create_task(
                    watcher(sessions[index], url, origin, unseen_by_device[index], stats, ready)
                )
            )
            if index % args.ramp == args.ramp - 1:
                await asyncio.sleep(1)
        await asyncio.gather(*(ready.wait() for ready in readiness))
    rng = random.Random(7)
    start = time.monotonic()
    stop_at = start + ramp_seconds + args.duration
    stats.start = start + ramp_seconds  # the timeline counts from the end of the devices' ramp
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
                    unseen=unseen_by_device[index],
                )
            )
        )
        if index % args.ramp == args.ramp - 1:
            await asyncio.sleep(1)
    await asyncio.gather(*tasks)
    for task in watchers:
        task.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = time.monotonic() - began
    lat = stats.latencies
    timeline = [
        {
            "t": key * 10,
            "sent_per_s": b["sent"] / 10,
            "acked_per_s": b["acked"] / 10,
            "ack_p50_ms": _ms(percentile(b["latencies"], 0.5)),
            "ack_p99_ms": _ms(percentile(b["latencies"], 0.99)),
            "updates_per_s": b["updates"] / 10,
            "update_p50_ms": _ms(percentile(b["update_latencies"], 0.5)),
            "update_p99_ms": _ms(percentile(b["update_latencies"], 0.99)),
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
        **(_household_side(stats, steady) if sessions is not None else {}),
        "loadgen_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "loadgen_cpu_share_of_one_core": round((usage.ru_utime + usage.ru_stime) / elapsed, 3),
        "loadgen_max_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "timeline": timeline,
    }


def _household_side(stats: Stats, steady: list[dict]) -> dict:
    lat = stats.update_latencies
    return {
        "watching": stats.watching,
        "updates_received": stats.updates,
        "updates_per_s": round(sum(r["updates_per_s"] for r in steady) / max(1, len(steady)), 1),
        "ticks_seen_by_household": len(lat),
        "update_p50_ms": _ms(percentile(lat, 0.5)),
        "update_p99_ms": _ms(percentile(lat, 0.99)),
        "update_max_ms": _ms(max(lat) if lat else None),
        "run_to_household_p50_ms": _ms(percentile(stats.deliveries, 0.5)),
        "run_to_household_p99_ms": _ms(percentile(stats.deliveries, 0.99)),
        "seen_within_1_5s": round(sum(1 for x in lat if x <= 1.5) / len(lat), 5) if lat else None,
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
    parser.add_argument(
        "--sessions", help="JSON list of session keys, one per token: households watch too"
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    # As in the servers (celc/asgi.py): thousands of sockets make full collections long.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    result = asyncio.run(main_async(args))
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
