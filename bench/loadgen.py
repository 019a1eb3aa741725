"""Open-loop device load: N devices each send an `off` tick every second, whatever the acks do.

    python -m bench.loadgen --tokens FILE --urls ws://127.0.0.1:8001/ws/device/,... \\
        --duration 60 --out result.json

Devices are spread over the URLs (as a load balancer would), connect at
`--ramp` per second, then tick on their own phase within the second. The
ack latency of a tick is the time from its send to the first ack covering
its seq. Writes a JSON summary with a timeline per 10 s.

With `--sessions FILE` (a signed-in session key per device's household)
every household also watches `/ws/balance/` on the next server along (so
what it hears crosses processes). The cut starts with each device's first
`off` tick and ends with an `on` tick when the time is up: the household
sees the cut start when its page hears the `cut_started` event, and the
power back when it hears `power_back`; those latencies run from the tick's
send. Quotes (the page's state to tick on from) are counted too.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import resource
import time
from collections import defaultdict
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
        self.updates = 0  # quotes heard by households
        self.events = 0
        self.deliveries: list[float] = []  # from a quote's `at` to the household
        self.cut_seen: list[float] = []  # cut started: first off tick sent -> event heard
        self.back_seen: list[float] = []  # power back: on tick sent -> event heard

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
    sent_at: dict | None = None,
) -> None:
    """A device: a tick each `every` seconds until `stop_at`; a cut (power off) ends with an
    `on` tick, the power back. `sent_at` gets when the cut's first tick and the `on` went."""
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
            state = power
            while True:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                if time.monotonic() >= stop_at:
                    if state == "on" or power == "on":
                        break
                    state = "on"  # the power comes back: one last tick
                seq += 1
                ms = int(time.time() * 1000)
                ts = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
                pending[seq] = time.monotonic()
                if sent_at is not None:
                    sent_at.setdefault("cut" if state == "off" else "back", pending[seq])
                await ws.send(f'{{"type":"tick","seq":{seq},"ts":"{ts}","power":"{state}"}}')
                stats.sent += 1
                stats.bucket(pending[seq])["sent"] += 1
                next_at += every  # open loop: the schedule never waits for acks
            await asyncio.sleep(3)  # let the last acks (and the power-back events) arrive
            receiver.cancel()
    except Exception as error:  # a benchmark counts failures, it does not stop on them
        stats.errors[type(error).__name__] += 1


async def watcher(
    session_key: str, url: str, origin: str, sent_at: dict, stats: Stats, ready: asyncio.Event
) -> None:
    """A household's dashboard socket: times the cut's start and the power back to the
    events its page hears, and counts the quotes.

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
                    _household_heard(json.loads(frame), sent_at, stats)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:  # counted, as the devices' are
            stats.errors[f"watcher {type(error).__name__}: {str(error)[:60]}"] += 1
            if stats.watching and ready.is_set():
                stats.watching -= 1
            ready.set() if attempt == 4 else None
            await asyncio.sleep(1)


def _household_heard(message: dict, sent_at: dict, stats: Stats) -> None:
    now = time.monotonic()
    kind = message.get("type")
    if kind == "event":
        stats.events += 1
        event = message.get("event")
        if event == "cut_started" and "cut" in sent_at and "cut_seen" not in sent_at:
            sent_at["cut_seen"] = now
            stats.cut_seen.append(now - sent_at["cut"])
        elif event == "power_back" and "back" in sent_at and "back_seen" not in sent_at:
            sent_at["back_seen"] = now
            stats.back_seen.append(now - sent_at["back"])
    elif kind == "quote":
        stats.updates += 1
        stats.bucket(now)["updates"] += 1
        stats.deliveries.append(time.time() - datetime.fromisoformat(message["at"]).timestamp())


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
    sent_by_device: list[dict | None] = [None] * len(tokens)
    if sessions is not None:
        # The households are watching before the cut: open their sockets first.
        readiness = []
        for index in range(len(tokens)):
            sent_by_device[index] = {}
            url = urls[(index + 1) % len(urls)].replace("/ws/device/", "/ws/balance/")
            origin = url.replace("ws://", "http://").split("/ws/")[0]
            ready = asyncio.Event()
            readiness.append(ready)
            watchers.append(
                asyncio.create_task(
                    watcher(sessions[index], url, origin, sent_by_device[index], stats, ready)
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
                    sent_at=sent_by_device[index],
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
            "quotes_per_s": b["updates"] / 10,
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
    cut, back = stats.cut_seen, stats.back_seen
    return {
        "watching": stats.watching,
        "events_heard": stats.events,
        "quotes_heard": stats.updates,
        "quotes_per_s": round(sum(r["quotes_per_s"] for r in steady) / max(1, len(steady)), 1),
        "cut_started_seen": len(cut),
        "cut_seen_p50_ms": _ms(percentile(cut, 0.5)),
        "cut_seen_p99_ms": _ms(percentile(cut, 0.99)),
        "cut_seen_max_ms": _ms(max(cut) if cut else None),
        "power_back_seen": len(back),
        "back_seen_p50_ms": _ms(percentile(back, 0.5)),
        "back_seen_p99_ms": _ms(percentile(back, 0.99)),
        "back_seen_max_ms": _ms(max(back) if back else None),
        "quote_delivery_p50_ms": _ms(percentile(stats.deliveries, 0.5)),
        "quote_delivery_p99_ms": _ms(percentile(stats.deliveries, 0.99)),
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
