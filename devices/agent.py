"""Reference device agent: senses the mains, buffers every tick, streams them to the server.

    python -m devices.agent --url wss://power.example.org/ws/device/ --token ced_... \\
        [--source sysfs|file|simulate] [--file /run/mains] [--buffer agent.sqlite3]

(`CELC_DEVICE_TOKEN` may carry the token instead of --token, out of `ps`.)

- Sources: `sysfs` reads Linux's /sys/class/power_supply/*/online of the
  supplies of type Mains (laptops, UPS boards); `file` reads a path holding
  on/off or 1/0 (a GPIO wired to a mains detector); `simulate` makes up
  cuts.
- Every tick is written to the buffer (SQLite, synchronous) before it is
  sent and deleted only when the server acknowledges it, so a kill, a
  reboot or a lost network loses nothing; `seq` is kept in the same file
  and never goes back.
- After a disconnection it reconnects with exponential backoff and full
  jitter, then replays what is unacknowledged in `batch` frames.

It depends on nothing of the server's: only the standard library and
`websockets`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import websockets
from websockets.asyncio.client import connect

log = logging.getLogger("devices.agent")

MAX_FRAME_BYTES = 64 * 1024
MAX_BATCH_TICKS = 1000
FRAMES_PER_SECOND = 15  # under the server's 20/s limit
BACKOFF_BASE = 0.5
BACKOFF_CAP = 60.0


class Unauthorized(Exception):
    """The server refused the token (4401): retrying cannot help."""


# Buffers ---------------------------------------------------------------------


class MemoryBuffer:
    """Unacknowledged ticks in memory: for simulated devices, which have nothing to lose."""

    def __init__(self, next_seq: int = 1):
        self._next_seq = next_seq
        self._ticks: dict[int, dict] = {}

    def append(self, ts: str, power: str) -> dict:
        tick = {"seq": self._next_seq, "ts": ts, "power": power}
        self._ticks[tick["seq"]] = tick
        self._next_seq += 1
        return tick

    def after(self, seq: int, limit: int) -> list[dict]:
        return [self._ticks[s] for s in sorted(self._ticks) if s > seq][:limit]

    def ack(self, seq: int) -> None:
        for s in [s for s in self._ticks if s <= seq]:
            del self._ticks[s]

    def drop(self, seq: int) -> None:
        self._ticks.pop(seq, None)

    def __len__(self) -> int:
        return len(self._ticks)


class SqliteBuffer:
    """Unacknowledged ticks in a SQLite file, each committed before it is sent."""

    def __init__(self, path: str | Path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS ticks (seq INTEGER PRIMARY KEY, ts TEXT, power TEXT)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('next_seq', 1)")

    def append(self, ts: str, power: str) -> dict:
        with self._transaction():
            (seq,) = self.db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()
            self.db.execute("INSERT INTO ticks VALUES (?, ?, ?)", (seq, ts, power))
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
        return {"seq": seq, "ts": ts, "power": power}

    def after(self, seq: int, limit: int) -> list[dict]:
        rows = self.db.execute(
            "SELECT seq, ts, power FROM ticks WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [{"seq": s, "ts": ts, "power": p} for s, ts, p in rows]

    def ack(self, seq: int) -> None:
        self.db.execute("DELETE FROM ticks WHERE seq <= ?", (seq,))

    def drop(self, seq: int) -> None:
        self.db.execute("DELETE FROM ticks WHERE seq = ?", (seq,))

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM ticks").fetchone()[0]

    @contextlib.contextmanager
    def _transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


# Sources ---------------------------------------------------------------------


def sysfs_source(root: str = "/sys/class/power_supply") -> Callable[[], str]:
    supplies = [
        path
        for path in sorted(Path(root).glob("*"))
        if (path / "type").is_file() and (path / "type").read_text().strip() == "Mains"
    ]
    if not supplies:
        raise SystemExit(
            f"No power supply of type Mains under {root}: use --source file or simulate."
        )

    def read() -> str:
        online = any((path / "online").read_text().strip() == "1" for path in supplies)
        return "on" if online else "off"

    return read


def file_source(path: str) -> Callable[[], str]:
    values = {"on": "on", "1": "on", "off": "off", "0": "off"}

    def read() -> str:
        value = Path(path).read_text().strip().lower()
        if value not in values:
            raise ValueError(f"{path} holds {value!r}, not on/off/1/0")
        return values[value]

    read()  # fail at start, not at the first cut
    return read


def simulated_source(mean_on: float = 240, mean_off: float = 60, rng=None) -> Callable[[], str]:
    """Power on and off for exponentially distributed stretches."""
    rng = rng or random.Random()
    state = {"power": "on", "until": time.monotonic() + rng.expovariate(1 / mean_on)}

    def read() -> str:
        now = time.monotonic()
        if now >= state["until"]:
            state["power"] = "off" if state["power"] == "on" else "on"
            mean = mean_off if state["power"] == "off" else mean_on
            state["until"] = now + rng.expovariate(1 / mean)
        return state["power"]

    return read


# The agent -------------------------------------------------------------------


def now_rfc3339() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


class Agent:
    def __init__(
        self,
        url: str,
        token: str,
        source: Callable[[], str],
        buffer,
        *,
        heartbeat: float = 60,
        clock: Callable[[], str] = now_rfc3339,
        rng: random.Random | None = None,
    ):
        self.url = url
        self.token = token
        self.source = source
        self.buffer = buffer
        self.heartbeat = heartbeat
        self.clock = clock
        self.rng = rng or random.Random()
        self.new_tick = asyncio.Event()
        self.connected = asyncio.Event()
        self.acked: int | None = None
        self.sent = 0
        self.connections = 0
        self.websocket = None

    async def run(self) -> None:
        """Sample and stream until cancelled (or the token is refused)."""
        sampler = asyncio.create_task(self.sample_forever())
        try:
            await self.stream_forever()
        finally:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)

    # Sampling: a tick a second while off; on, a heartbeat, and at once on a change.
    async def sample_forever(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        last_power, last_tick_at, n = None, -float("inf"), 0
        while True:
            try:
                power = self.source()
            except (OSError, ValueError) as error:
                log.warning("cannot read the mains state: %s", error)
                power = None
            now = loop.time()
            if power is not None and (
                power == "off" or power != last_power or now - last_tick_at >= self.heartbeat
            ):
                self.buffer.append(self.clock(), power)
                last_power, last_tick_at = power, now
                self.new_tick.set()
            n += 1
            await asyncio.sleep(max(0.0, start + n - loop.time()))

    # Streaming: connect, replay, follow; reconnect with backoff and full jitter.
    async def stream_forever(self) -> None:
        attempt = 0
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.stream_once()
            except (TimeoutError, OSError, websockets.WebSocketException) as error:
                log.info("connection lost: %s", error)
            finally:
                self.connected.clear()
                self.websocket = None
            if loop.time() - started > 30:
                attempt = 0  # it was a working connection: start the backoff over
            delay = self.rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
            attempt += 1
            await asyncio.sleep(delay)

    async def stream_once(self) -> None:
        async with connect(
            self.url,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            compression=None,
            proxy=None,
            open_timeout=10,
        ) as websocket:
            self.websocket = websocket
            self.connections += 1
            self.connected.set()
            sender = asyncio.create_task(self.send_forever(websocket))
            try:
                async for frame in websocket:
                    self.receive(json.loads(frame))
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
        if websocket.close_code == 4401:
            raise Unauthorized("the server refused this device's token")
        log.info("server closed the connection with %s", websocket.close_code)

    def receive(self, message: dict) -> None:
        if message.get("type") == "ack" and isinstance(message.get("seq"), int):
            self.acked = message["seq"]
            self.buffer.ack(message["seq"])
        elif message.get("type") == "error":
            log.warning("server error %s: %s", message.get("code"), message.get("detail"))
            if message.get("code") in {"clock_skew", "too_old"} and "seq" in message:
                self.buffer.drop(message["seq"])  # dropped for good by the server

    async def send_forever(self, websocket) -> None:
        # Everything unacknowledged is sent again on each new connection.
        sent_up_to = -1
        while True:
            self.new_tick.clear()
            pending = self.buffer.after(sent_up_to, MAX_BATCH_TICKS)
            if not pending:
                await self.new_tick.wait()
                continue
            frame, count = encode(pending)
            await websocket.send(frame)
            self.sent += count
            sent_up_to = pending[count - 1]["seq"]
            if count > 1:
                await asyncio.sleep(1 / FRAMES_PER_SECOND)  # replaying: stay under the rate limit

    def drop_connection(self) -> None:
        """Cut the connection as a failing network would (for the flaky simulated device)."""
        if self.websocket is not None:
            self.websocket.transport.abort()


def encode(pending: list[dict]) -> tuple[str, int]:
    """A `tick` for one, else the largest `batch` prefix that fits in a frame."""
    if len(pending) == 1:
        return json.dumps({"type": "tick", **pending[0]}, separators=(",", ":")), 1
    count = len(pending)
    while True:
        frame = json.dumps({"type": "batch", "ticks": pending[:count]}, separators=(",", ":"))
        if len(frame) <= MAX_FRAME_BYTES:
            return frame, count
        count = count * MAX_FRAME_BYTES // len(frame) - 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devices.agent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", required=True, help="ws:// or wss:// address of /ws/device/")
    parser.add_argument("--token", default=os.environ.get("CELC_DEVICE_TOKEN"))
    parser.add_argument("--source", choices=["sysfs", "file", "simulate"], default="sysfs")
    parser.add_argument("--file", help="for --source file: a path holding on/off or 1/0")
    parser.add_argument(
        "--buffer", default="celc-agent.sqlite3", help="SQLite file of unacknowledged ticks"
    )
    parser.add_argument(
        "--heartbeat", type=float, default=60, help="seconds between ticks while on"
    )
    parser.add_argument(
        "--mean-on", type=float, default=240, help="simulate: mean seconds with power"
    )
    parser.add_argument(
        "--mean-off", type=float, default=60, help="simulate: mean seconds of a cut"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s"
    )
    if not args.token:
        parser.error("give --token or set CELC_DEVICE_TOKEN")
    if args.source == "file" and not args.file:
        parser.error("--source file needs --file")
    source = {
        "sysfs": lambda: sysfs_source(),
        "file": lambda: file_source(args.file),
        "simulate": lambda: simulated_source(args.mean_on, args.mean_off),
    }[args.source]()
    agent = Agent(args.url, args.token, source, SqliteBuffer(args.buffer), heartbeat=args.heartbeat)
    try:
        asyncio.run(agent.run())
    except Unauthorized as error:
        print(f"Stopped: {error}. Ask the installer for a new token.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
