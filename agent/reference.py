"""Reference device agent: senses the mains, buffers every tick, streams them to the server.

    # a local server (`make run`), with made-up cuts:
    python -m agent --url ws://localhost:8000/ws/device/ --source simulate -v
    # production, on the device:
    python -m agent --url wss://power.example.org/ws/device/ \\
        [--source sysfs|file|simulate] [--file /run/mains] [--buffer PATH] [-v]

The token comes from `CELC_DEVICE_TOKEN` (out of `ps`), or --token.

- Sources: `sysfs` (the default) reads Linux's /sys/class/power_supply/*/online
  of the supplies of type Mains (laptops, UPS boards); `file` reads a path
  holding on/off or 1/0 (a GPIO wired to a mains detector); `simulate` makes
  up cuts, to try the agent out.
- Every tick is written to the buffer (SQLite, synchronous) before it is
  sent and deleted only when the server acknowledges it, so a kill, a
  reboot or a lost network loses nothing; `seq` is kept in the same file
  and never goes back. The buffer is
  `$XDG_STATE_HOME/celc-agent/buffer-<token digest>.sqlite3`, else the same
  under `~/.local/state/`, one per token, unless --buffer says otherwise.
- After a disconnection it reconnects with exponential backoff and full
  jitter, then replays what is unacknowledged in `batch` frames.
- If the server refuses the token (wrong, revoked or regenerated) it stops
  at once with exit status 2: retrying cannot help, a new token can.
- Quiet unless something is wrong; -v tells what it does: connecting,
  connected, the first ack, each cut's start and end, reconnections, and a
  status line every --status-every seconds (300).
- It speaks to the installer in English, Tamil or Hindi: --language en|ta|hi,
  else the environment's language (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), from
  the site's catalogue (locale/<language>/LC_MESSAGES/django.mo); English when
  there is none.

It speaks the device protocol (docs/device-protocol.md) and depends on
nothing of the server's: only the standard library and `websockets`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gettext
import hashlib
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
from urllib.parse import urlsplit

import websockets
from websockets.asyncio.client import connect

log = logging.getLogger("agent")

# What it says to the installer comes from the site's own catalogue (Django's makemessages
# finds the `_(...)` and `ngettext(...)` below): the agent imports nothing of Django.
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "ta", "hi")
_messages: gettext.NullTranslations = gettext.NullTranslations()


def use_language(language: str | None = None) -> None:
    """Speak `language` (en, ta or hi) from now on; None: the environment's, as gettext reads
    it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG). English when there is no catalogue for it."""
    global _messages
    _messages = gettext.translation(
        "django",
        localedir=LOCALE_DIR,
        languages=[language] if language else None,
        fallback=True,
    )


def _(message: str) -> str:
    """`message` in the installer's language."""
    return _messages.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """`singular` or `plural` as `n` asks, in the installer's language."""
    return _messages.ngettext(singular, plural, n)


use_language()

MAX_FRAME_BYTES = 64 * 1024
MAX_SEQ = 2**63
COMPLAINTS_PER_MINUTE = 10
LOOPBACK = {"localhost", "127.0.0.1", "::1"}
MAX_BATCH_TICKS = 1000
FRAMES_PER_SECOND = 15  # under the server's 20/s limit
BACKOFF_BASE = 0.5
BACKOFF_CAP = 60.0
CLOSE_UNAUTHORIZED = 4401


class Unauthorized(Exception):
    """The server refused the token (4401): retrying cannot help."""


def refused_message(reason) -> str:
    """What the agent says when it stops because the server refused its token."""
    return _(
        "Stopped: the server refused this device's token (%(reason)s). The token is wrong, "
        "or the device was revoked or given a new token. Retrying cannot help: "
        "ask the installer for a new token, then start the agent again with it."
    ) % {"reason": reason}


def default_buffer_path(token: str = "") -> Path:
    """$XDG_STATE_HOME/celc-agent/buffer-<token digest>.sqlite3, else under ~/.local/state.

    One buffer per token: ticks kept under one device's token are never sent under
    another's (a second device on the same machine, or a token typed wrong).
    """
    state = os.environ.get("XDG_STATE_HOME", "")
    # The XDG spec says a relative path is invalid and must be ignored.
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    digest = hashlib.sha256(token.encode()).hexdigest()[:12] if token else ""
    return base / "celc-agent" / (f"buffer-{digest}.sqlite3" if digest else "buffer.sqlite3")


def describe_duration(seconds: float) -> str:
    """47 s, 3 min 05 s, 2 h 10 min."""
    seconds = round(seconds)
    if seconds < 60:
        # Translators: a duration; "s" is the symbol of seconds.
        return _("%(seconds)d s") % {"seconds": seconds}
    if seconds < 3600:
        # Translators: a duration in minutes and seconds, e.g. "3 min 05 s".
        return _("%(minutes)d min %(seconds)02d s") % {
            "minutes": seconds // 60,
            "seconds": seconds % 60,
        }
    # Translators: a duration in hours and minutes, e.g. "2 h 10 min".
    return _("%(hours)d h %(minutes)02d min") % {
        "hours": seconds // 3600,
        "minutes": seconds % 3600 // 60,
    }


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
        # The server holds a higher seq than this device made (its buffer was lost, or
        # the token was regenerated): go on above it, or new ticks would be ignored.
        self._next_seq = max(self._next_seq, seq + 1)

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
        with self._transaction():
            self.db.execute("DELETE FROM ticks WHERE seq <= ?", (seq,))
            # As MemoryBuffer.ack: never make a seq the server already holds.
            self.db.execute(
                "UPDATE meta SET value = ? WHERE key = 'next_seq' AND value <= ?", (seq + 1, seq)
            )

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
            _(
                # Translators: "Mains" is the type Linux gives the supply (keep it); so are the
                # options --source file --file PATH and --source simulate, and on/off or 1/0.
                "No power supply of type Mains under %(root)s: this machine cannot sense the "
                "mains by itself. Give the agent a file that says on/off or 1/0 (for example "
                "written from a GPIO wired to a mains detector) with --source file --file "
                "PATH, or try the agent out with made-up cuts: --source simulate."
            )
            % {"root": root}
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
            raise ValueError(
                # Translators: what the file may hold, on/off/1/0, is kept as it is.
                _("%(path)s holds %(value)s, not on/off/1/0") % {"path": path, "value": repr(value)}
            )
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
        status_every: float | None = None,
    ):
        self.url = url
        self.token = token
        self.source = source
        self.buffer = buffer
        self.heartbeat = heartbeat
        self.clock = clock
        self.rng = rng or random.Random()
        self.status_every = status_every
        self.new_tick = asyncio.Event()
        self.connected = asyncio.Event()
        self.acked: int | None = None
        self.sent = 0
        self.connections = 0
        self.websocket = None
        self.power: str | None = None  # the mains as last read
        self.refused: Unauthorized | None = None  # set when the server refused the token
        self.first_ack_logged = False
        self.complaints_since, self.complaints, self.complaints_muted = 0.0, 0, 0
        self.last_close_code: int | None = None

    async def run(self) -> None:
        """Sample and stream until cancelled, or until the server refuses the token.

        A refused token ends the run (it does not raise: one refused device
        of a simulated fleet must not stop the others); `refused` says why.
        """
        tasks = [asyncio.create_task(self.sample_forever())]
        if self.status_every:
            tasks.append(asyncio.create_task(self.report_status_forever()))
        try:
            await self.stream_forever()
        except Unauthorized as error:
            self.refused = error
            log.info(
                _("stopping: the server refused this device's token (%(reason)s)"),
                {"reason": error},
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # Sampling: a tick a second while off; on, a heartbeat, and at once on a change.
    async def sample_forever(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        last_power, last_tick_at, n = None, -float("inf"), 0
        cut_since, cut_before_start = None, False
        while True:
            try:
                power = self.source()
            except (OSError, ValueError) as error:
                log.warning(_("cannot read the mains state: %(error)s"), {"error": error})
                power = None
            now = loop.time()
            if power is not None and power != self.power:
                if power == "off":
                    cut_since, cut_before_start = now, self.power is None
                    if cut_before_start:
                        log.info(
                            _(
                                "power off: a cut is under way (it began before the agent "
                                "started or just now)"
                            )
                        )
                    else:
                        log.info(_("power off: a cut has started"))
                elif cut_since is not None:
                    lasted = {"duration": describe_duration(now - cut_since)}
                    if cut_before_start:
                        log.info(
                            _(
                                "power back: the cut lasted %(duration)s (at least: it began "
                                "before the agent started)"
                            ),
                            lasted,
                        )
                    else:
                        log.info(_("power back: the cut lasted %(duration)s"), lasted)
                    cut_since = None
                else:
                    log.info(_("power is on"))
                self.power = power
            if power is not None and (
                power == "off" or power != last_power or now - last_tick_at >= self.heartbeat
            ):
                self.buffer.append(self.clock(), power)
                last_power, last_tick_at = power, now
                self.new_tick.set()
            n += 1
            await asyncio.sleep(max(0.0, start + n - loop.time()))

    async def report_status_forever(self) -> None:
        while True:
            await asyncio.sleep(self.status_every)
            # Translators: a status line the agent logs every few minutes.
            log.info(_("status: %(status)s"), {"status": self.status()})

    def status(self) -> str:
        """One line: connected or not, ticks buffered, last acked seq, power now."""
        buffered = len(self.buffer)
        power = {"on": _("power on"), "off": _("power off")}
        return ", ".join(
            [
                # Translators: the agent's connection to the server is open.
                _("connected") if self.connected.is_set() else _("not connected"),
                # Translators: a tick is one reading of the mains sent to the server.
                ngettext("%(count)d tick buffered", "%(count)d ticks buffered", buffered)
                % {"count": buffered},
                _("nothing acknowledged yet")
                if self.acked is None
                # Translators: "seq" is the protocol's sequence number of a tick.
                else _("last acknowledged seq %(seq)d") % {"seq": self.acked},
                power.get(self.power or "", _("power unknown")),
            ]
        )

    # Streaming: connect, replay, follow; reconnect with backoff and full jitter.
    async def stream_forever(self) -> None:
        attempt = 0
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            connections = self.connections
            try:
                await self.stream_once()
                lost = _("the server closed the connection (%(code)s)") % {
                    "code": self.last_close_code
                }
            except (TimeoutError, OSError, websockets.WebSocketException) as error:
                lost = str(error) or error.__class__.__name__
            finally:
                self.connected.clear()
                self.websocket = None
            if loop.time() - started > 30:
                attempt = 0  # it was a working connection: start the backoff over
            delay = self.rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
            attempt += 1
            why = {"reason": lost, "delay": delay}
            if self.connections > connections:
                log.info(_("connection lost: %(reason)s; reconnecting in %(delay).1f s"), why)
            else:
                log.info(_("cannot connect: %(reason)s; trying again in %(delay).1f s"), why)
            await asyncio.sleep(delay)

    async def stream_once(self) -> None:
        log.info(_("connecting to %(url)s"), {"url": self.url})
        try:
            websocket = await connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self.token}"},
                compression=None,
                proxy=None,
                open_timeout=10,
            )
        except websockets.InvalidStatus as error:
            if error.response.status_code == 401:  # a proxy or server refusing the upgrade
                raise Unauthorized("HTTP 401") from error
            log.warning(
                _(
                    "the server answered HTTP %(status)d instead of opening a WebSocket: is "
                    "--url right (it ends in /ws/device/)?"
                ),
                {"status": error.response.status_code},
            )
            raise
        async with websocket:
            self.websocket = websocket
            self.connections += 1
            self.first_ack_logged = False
            self.connected.set()
            # Translators: the agent's connection to the server is open.
            log.info(_("connected"))
            sender = asyncio.create_task(self.send_forever(websocket))
            try:
                async for frame in websocket:
                    self.receive_frame(frame)
            except websockets.ConnectionClosed as closed:
                if closed.rcvd is not None and closed.rcvd.code == CLOSE_UNAUTHORIZED:
                    raise Unauthorized(closed_with(CLOSE_UNAUTHORIZED)) from closed
                raise
            finally:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
        self.last_close_code = websocket.close_code
        if websocket.close_code == CLOSE_UNAUTHORIZED:
            raise Unauthorized(closed_with(CLOSE_UNAUTHORIZED))

    def receive_frame(self, frame: str | bytes) -> None:
        """One frame from the server. A hostile or broken server cannot crash the agent:
        anything that is not a well-formed message of the protocol is ignored (and said,
        at most a few times a minute)."""
        if len(frame) > MAX_FRAME_BYTES:
            self.complain(_("the server sent an oversized frame: ignored"))
            return
        try:
            message = json.loads(frame)
        except (ValueError, RecursionError):
            self.complain(_("the server sent a frame that is not JSON: ignored"))
            return
        if isinstance(message, dict):
            self.receive(message)

    def receive(self, message: dict) -> None:
        seq = message.get("seq")
        seq = seq if type(seq) is int and 0 <= seq < MAX_SEQ else None
        if message.get("type") == "ack":
            if seq is None:
                self.complain(_("the server sent an ack without a valid seq: ignored"))
                return
            self.acked = seq
            self.buffer.ack(seq)
            if not self.first_ack_logged:
                self.first_ack_logged = True
                log.info(
                    _("first ack on this connection: the server has stored up to seq %(seq)d"),
                    {"seq": seq},
                )
        elif message.get("type") == "error":
            code, detail = printable(message.get("code")), printable(message.get("detail"))
            if code == "unauthorized":
                raise Unauthorized(detail or "unauthorized")
            # Translators: the code and the detail are the server's, as it sent them.
            self.complain(_("server error %(code)s: %(detail)s") % {"code": code, "detail": detail})
            if code in {"clock_skew", "too_old"} and seq is not None:
                self.buffer.drop(seq)  # dropped for good by the server

    def complain(self, text: str) -> None:
        """A warning, at most COMPLAINTS_PER_MINUTE a minute (a server may send thousands)."""
        now = time.monotonic()
        if now - self.complaints_since > 60:
            if self.complaints_muted:
                log.warning(
                    ngettext(
                        "... and %(count)d more such warning",
                        "... and %(count)d more such warnings",
                        self.complaints_muted,
                    ),
                    {"count": self.complaints_muted},
                )
            self.complaints_since, self.complaints, self.complaints_muted = now, 0, 0
        self.complaints += 1
        if self.complaints <= COMPLAINTS_PER_MINUTE:
            log.warning("%s", text)
        else:
            self.complaints_muted += 1

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


def closed_with(code: int) -> str:
    """Why the token was refused, when the server closed the connection with `code`."""
    # Translators: the server closed the WebSocket connection with this close code.
    return _("closed with %(code)d") % {"code": code}


def printable(value, limit: int = 200) -> str:
    """A server's text as one safe log line: no control characters (no forged lines, no
    terminal escapes), at most `limit` characters."""
    text = value if isinstance(value, str) else "" if value is None else repr(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text[:limit] + ("…" if len(text) > limit else "")


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


def chosen_language(argv: list[str] | None) -> str | None:
    """--language if it is given and one of LANGUAGES (read before the other options, so
    that --help and the errors about them are in it), else None."""
    early = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    early.add_argument("--language")
    try:
        language = early.parse_known_args(argv)[0].language
    except argparse.ArgumentError:
        return None  # said by the full parser
    return language if language in LANGUAGES else None


def main(argv: list[str] | None = None) -> int:
    use_language(chosen_language(argv))
    parser = argparse.ArgumentParser(
        prog="python -m agent",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url",
        required=True,
        help=_(
            "the server's /ws/device/: ws://localhost:8000/ws/device/ for a local server, "
            "wss://.../ws/device/ in production"
        ),
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("CELC_DEVICE_TOKEN"),
        help=_("the device's token (better: set CELC_DEVICE_TOKEN, which `ps` does not show)"),
    )
    parser.add_argument(
        "--source",
        choices=["sysfs", "file", "simulate"],
        default="sysfs",
        help=_("where the mains state comes from (default sysfs: this machine's mains supply)"),
    )
    parser.add_argument("--file", help=_("for --source file: a path holding on/off or 1/0"))
    parser.add_argument(
        "--buffer",
        help=_(
            "SQLite file of unacknowledged ticks (default "
            "$XDG_STATE_HOME/celc-agent/buffer-<token digest>.sqlite3, else the same under "
            "~/.local/state, one per token)"
        ),
    )
    parser.add_argument(
        "--heartbeat", type=float, default=60, help=_("seconds between ticks while on")
    )
    parser.add_argument(
        "--mean-on", type=float, default=240, help=_("simulate: mean seconds with power")
    )
    parser.add_argument(
        "--mean-off", type=float, default=60, help=_("simulate: mean seconds of a cut")
    )
    parser.add_argument(
        "--status-every",
        type=float,
        default=300,
        metavar="SECONDS",
        help=_("with -v, a status line this often (default 300; 0: never)"),
    )
    parser.add_argument(
        "--language",
        choices=LANGUAGES,
        help=_(
            "the language of its messages: en (English), ta (Tamil) or hi (Hindi); default: "
            "the environment's (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English"
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help=_("tell what it does (else only problems)")
    )
    args = parser.parse_args(argv)
    # Only the agent's own lines: the websockets library's would be noise, and its
    # debug lines show the request headers, the token included.
    # Local time with its offset: the installer compares it with the site's India time.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S%z"
    )
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    if not args.token:
        parser.error(_("give --token or set CELC_DEVICE_TOKEN"))
    if not args.url.startswith(("ws://", "wss://")):
        parser.error(
            _("--url must start with ws:// or wss://, e.g. ws://localhost:8000/ws/device/")
        )
    if args.url.startswith("ws://") and urlsplit(args.url).hostname not in LOOPBACK:
        log.warning(
            _(
                "ws:// sends the device's token unencrypted: use wss:// for anything but "
                "this machine"
            )
        )
    if args.source == "file" and not args.file:
        parser.error(_("--source file needs --file PATH"))
    source = {
        "sysfs": lambda: sysfs_source(),
        "file": lambda: file_source(args.file),
        "simulate": lambda: simulated_source(args.mean_on, args.mean_off),
    }[args.source]()
    if args.buffer:
        buffer_path = Path(args.buffer)
    else:
        buffer_path = default_buffer_path(args.token)
        buffer_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    log.info(_("buffer of unacknowledged ticks: %(path)s"), {"path": buffer_path})
    agent = Agent(
        args.url,
        args.token,
        source,
        SqliteBuffer(buffer_path),
        heartbeat=args.heartbeat,
        status_every=args.status_every or None,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(agent.run())
    if agent.refused is not None:
        print(refused_message(agent.refused), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
