"""Outage derivation: what a device's ticks, applied in seq order, amount to.

Pure functions over plain values; `devices.ingest` loads the state, calls
`apply_ticks` and stores the result.

The rules (device protocol, "What the server makes of ticks"):

- Ticks apply in seq order; a tick at or below the highest applied seq is
  ignored.
- Time only moves forward: a tick's effective time is the later of its own
  `ts` and the effective time of the tick before it, so a device clock that
  jumps back neither counts time twice nor makes it negative.
- An outage begins at the first `off` tick after an `on` tick (or the
  device's first tick) and ends at the next `on` tick.
- The time between two consecutive ticks of which the first is `off` is
  witnessed when it is at most `max_gap` long; a longer silence is a gap and
  is not paid. `max_gap` is the one in force when the silence began (at the
  first tick's effective time): a constant, or `MaxGaps`, how it changed over
  time (the policy's versions), so that a later, longer one does not reach
  back to ticks a device kept and sends late.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from devices.protocol import Tick

ONGOING = "ongoing"
ENDED = "ended"
LOST_CONTACT = "lost_contact"

MICROSECOND = Decimal("0.000001")


def seconds(delta: timedelta) -> Decimal:
    """A timedelta as exact decimal seconds (microsecond resolution)."""
    return (
        Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000
    ).quantize(MICROSECOND)


@dataclass(frozen=True)
class MaxGaps:
    """max_gap over time: (from, max_gap) pairs by ascending start; before the first start,
    the first one's. Called with a moment, the max_gap in force then."""

    changes: tuple[tuple[datetime, timedelta], ...]

    def __post_init__(self):
        if not self.changes:
            raise ValueError("MaxGaps needs at least one (from, max_gap)")
        object.__setattr__(self, "_starts", [start for start, _ in self.changes])

    def __call__(self, moment: datetime) -> timedelta:
        return self.changes[max(bisect_right(self._starts, moment) - 1, 0)][1]


# A constant max_gap, or the max_gap in force at a moment.
MaxGap = timedelta | Callable[[datetime], timedelta]


def _max_gap_at(max_gap: MaxGap) -> Callable[[datetime], timedelta]:
    if isinstance(max_gap, timedelta):
        return lambda moment: max_gap
    return max_gap


@dataclass
class OutageRecord:
    """An outage as derivation sees it; `id` is None until stored."""

    id: int | None
    started_at: datetime
    first_seq: int
    last_seq: int
    last_tick_at: datetime
    ended_at: datetime | None = None
    status: str = ONGOING
    witnessed_seconds: Decimal = Decimal("0.000000")
    ticks_received: int = 0
    gaps: int = 0
    max_gap_seen: Decimal = Decimal("0.000000")
    # The witnessed interval still growing: from here to last_tick_at.
    open_interval_start: datetime | None = None
    # When its evidence last changed other than by ticking on (devices.ingest sets it).
    updated_at: datetime | None = None
    # Intervals closed while applying this batch, to be stored.
    closed_intervals: list[tuple[datetime, datetime]] = field(default_factory=list)

    def witness(self, start: datetime, end: datetime) -> None:
        """Count [start, end]: it extends the open interval, or opens one."""
        if self.open_interval_start is None:
            self.open_interval_start = start
        self.witnessed_seconds += seconds(end - start)

    def close_interval(self) -> None:
        if self.open_interval_start is not None:
            if self.last_tick_at > self.open_interval_start:
                self.closed_intervals.append((self.open_interval_start, self.last_tick_at))
            self.open_interval_start = None


@dataclass
class DeviceState:
    """What derivation needs to know of a device between ticks."""

    last_seq: int | None = None
    power: str = "unknown"  # of the last applied tick
    last_tick_at: datetime | None = None  # effective time of the last applied tick
    outage: OutageRecord | None = None  # ongoing or lost contact


def apply_ticks(
    state: DeviceState, ticks: list[Tick] | tuple[Tick, ...], max_gap: MaxGap
) -> list[OutageRecord]:
    """Apply ticks (ascending seq) to `state` in place; return the outages they touched.

    `max_gap`: a constant, or the max_gap in force at a moment (`MaxGaps`).
    """
    max_gap_at = _max_gap_at(max_gap)
    touched: list[OutageRecord] = []
    for tick in ticks:
        if state.last_seq is not None and tick.seq <= state.last_seq:
            continue
        at = tick.ts if state.last_tick_at is None else max(tick.ts, state.last_tick_at)
        outage = state.outage
        if outage is not None and state.power == "off":
            elapsed = at - state.last_tick_at
            if elapsed > max_gap_at(state.last_tick_at):  # the rule when the silence began
                outage.gaps += 1
                outage.max_gap_seen = max(outage.max_gap_seen, seconds(elapsed))
                outage.close_interval()
            elif elapsed > timedelta(0):
                outage.witness(state.last_tick_at, at)
        if outage is not None:
            outage.status = ONGOING  # ticks arrived again, whatever the silence before
            outage.last_tick_at = at
            outage.last_seq = tick.seq
            if tick.power == "on":
                outage.close_interval()
                outage.ended_at = at
                outage.status = ENDED
                state.outage = None
            else:
                outage.ticks_received += 1
        elif tick.power == "off":
            outage = OutageRecord(
                id=None,
                started_at=at,
                first_seq=tick.seq,
                last_seq=tick.seq,
                last_tick_at=at,
                ticks_received=1,
            )
            state.outage = outage
        if outage is not None and (not touched or touched[-1] is not outage):
            touched.append(outage)
        state.last_seq = tick.seq
        state.power = tick.power
        state.last_tick_at = at
    return touched


def reference_witnessed(ticks: list[Tick], max_gap: MaxGap) -> tuple[Decimal, int]:
    """The plainest statement of the rules, for tests: total witnessed seconds and outages.

    `ticks` in arrival order, duplicates and replays included.
    """
    max_gap_at = _max_gap_at(max_gap)
    applied: dict[int, Tick] = {}
    highest = None
    for tick in ticks:
        if highest is None or tick.seq > highest:
            applied[tick.seq] = tick
            highest = tick.seq
    ordered = [applied[seq] for seq in sorted(applied)]
    total = Decimal(0)
    outages = 0
    previous = None
    previous_at = None
    for tick in ordered:
        at = tick.ts if previous_at is None else max(tick.ts, previous_at)
        if tick.power == "off" and (previous is None or previous.power == "on"):
            outages += 1
        if (
            previous is not None
            and previous.power == "off"
            and at - previous_at <= max_gap_at(previous_at)
        ):
            total += seconds(at - previous_at)
        previous, previous_at = tick, at
    return total, outages
