"""Device protocol v1: parsing and validating what a device sends.

Pure functions over text and a clock, shared by the WebSocket consumer and
the HTTP fallback. See ../shared/spec/device-protocol.md: unknown fields are
ignored (the protocol only ever grows by adding), everything else is checked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_FRAME_BYTES = 64 * 1024
MAX_BATCH_TICKS = 1000
MAX_SEQ = 2**63
CLOCK_SKEW_LIMIT = timedelta(seconds=300)
BACKFILL_WINDOW = timedelta(hours=72)
POWER_VALUES = ("on", "off")
MESSAGE_KINDS = ("tick", "batch")

# Close codes of the protocol's error table.
CLOSE_TOO_LARGE = 1009
CLOSE_UNAUTHORIZED = 4401
CLOSE_RATE_LIMITED = 4429
CLOSE_REPLACED = 4409  # an extension: a newer connection of the device took this one's place

# Matched whole (fullmatch): `$` would also let a trailing "\n" through.
RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class Tick:
    seq: int
    ts: datetime
    power: str


@dataclass(frozen=True, slots=True)
class ProtocolError:
    code: str
    detail: str
    seq: int | None = None

    def as_frame(self) -> dict:
        frame = {"type": "error", "code": self.code, "detail": self.detail}
        if self.seq is not None:
            frame["seq"] = self.seq
        return frame


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a frame amounts to: ticks to store, or the errors that reject it whole."""

    ticks: tuple[Tick, ...] = ()
    errors: tuple[ProtocolError, ...] = ()


def frame_too_large(text: str | bytes) -> bool:
    if isinstance(text, bytes):
        return len(text) > MAX_FRAME_BYTES
    # Cheap for the usual small frame: a str of n characters is at most 4n bytes.
    if len(text) * 4 <= MAX_FRAME_BYTES:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES


def parse_ts(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    match = RFC3339.fullmatch(value)
    if match is None:
        return None
    date, time, fraction, offset = match.groups()
    fraction = (fraction or "")[:7]  # microseconds are as fine as Python keeps
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{date}T{time}{fraction}{offset}")
    except ValueError:
        return None


def _tick_from(item, where: str) -> Tick | ProtocolError:
    if not isinstance(item, dict):
        return ProtocolError("bad_message", f"{where} must be an object")
    seq = item.get("seq")
    if type(seq) is not int or not 0 <= seq < MAX_SEQ:
        return ProtocolError("bad_message", f"{where}: seq must be an integer in [0, 2^63)")
    ts = parse_ts(item.get("ts"))
    if ts is None:
        return ProtocolError(
            "bad_message", f"{where}: ts must be an RFC 3339 time with offset", seq
        )
    power = item.get("power")
    if power not in POWER_VALUES:
        return ProtocolError("bad_message", f'{where}: power must be "on" or "off"', seq)
    return Tick(seq=seq, ts=ts, power=power)


def _time_errors(tick: Tick, now: datetime, not_before: datetime | None) -> ProtocolError | None:
    if tick.ts - now > CLOCK_SKEW_LIMIT:
        ahead = int((tick.ts - now).total_seconds())
        return ProtocolError("clock_skew", f"ts is {ahead} s ahead of server time", tick.seq)
    if now - tick.ts > BACKFILL_WINDOW:
        return ProtocolError("too_old", "ts is older than the 72 h backfill window", tick.seq)
    if not_before is not None and tick.ts < not_before:
        return ProtocolError("too_old", "ts is before the device was registered", tick.seq)
    return None


def parse_message(
    message,
    now: datetime,
    *,
    not_before: datetime | None = None,
    kinds: tuple[str, ...] = MESSAGE_KINDS,
) -> Parsed:
    """Validate a decoded message (a `tick` or a `batch`, of `kinds`); all of it stands or none.

    `not_before` is when the device was registered: nothing it saw earlier counts.
    """
    if not isinstance(message, dict):
        return Parsed(errors=(ProtocolError("bad_message", "message must be a JSON object"),))
    kind = message.get("type")
    if kind not in kinds:
        expected = " or ".join(f'"{k}"' for k in kinds)
        return Parsed(errors=(ProtocolError("bad_message", f"type must be {expected}"),))
    if kind == "tick":
        items, where = [message], "tick"
    else:  # batch
        items = message.get("ticks")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH_TICKS:
            return Parsed(
                errors=(
                    ProtocolError(
                        "bad_message", f"batch.ticks must be a list of 1 to {MAX_BATCH_TICKS} ticks"
                    ),
                )
            )
        where = "batch.ticks"

    ticks: list[Tick] = []
    for index, item in enumerate(items):
        tick = _tick_from(item, where if kind == "tick" else f"{where}[{index}]")
        if isinstance(tick, ProtocolError):
            return Parsed(errors=(tick,))
        if ticks and tick.seq <= ticks[-1].seq:
            return Parsed(
                errors=(ProtocolError("bad_message", f"{where}: seq must be ascending", tick.seq),)
            )
        ticks.append(tick)

    errors = tuple(
        error for tick in ticks if (error := _time_errors(tick, now, not_before)) is not None
    )
    if errors:
        return Parsed(errors=errors)
    return Parsed(ticks=tuple(ticks))


def parse_frame(
    text: str | bytes,
    now: datetime,
    *,
    not_before: datetime | None = None,
    kinds: tuple[str, ...] = MESSAGE_KINDS,
) -> Parsed:
    """Validate a raw frame: JSON first, then the message."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        message = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return Parsed(errors=(ProtocolError("bad_json", "frame is not UTF-8 JSON"),))
    return parse_message(message, now, not_before=not_before, kinds=kinds)


class TokenBucket:
    """Allows `rate` frames a second sustained, with bursts up to `burst`; it may start
    below empty (`level` < 0: a debt to pay back first)."""

    __slots__ = ("burst", "level", "rate", "updated")

    def __init__(self, rate: float, burst: float, now: float, level: float | None = None):
        self.rate = rate
        self.burst = burst
        self.level = burst if level is None else min(burst, level)
        self.updated = now

    def full(self, now: float) -> bool:
        return self.level + (now - self.updated) * self.rate >= self.burst

    def take(self, now: float) -> bool:
        self.level = min(self.burst, self.level + (now - self.updated) * self.rate)
        self.updated = now
        if self.level < 1:
            return False
        self.level -= 1
        return True
