"""Simulated devices for the demo and the benchmark: many agents in one process.

Each simulated device is a reference `Agent` with an in-memory buffer and
a power source driven by a `Scenario`:

- area-wide cuts: every area goes dark for `cut_length` seconds every
  `cut_every` seconds, areas staggered; or, for an area given a daily
  window (`TN-CHN-042=09:00-17:00`), during that window each day;
- short random cuts of single devices (`random_cuts_per_hour` each);
- flaky devices whose connection drops every 30 to 90 s, so that they
  reconnect and replay their buffer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from agent.reference import Agent, MemoryBuffer, _, ngettext

log = logging.getLogger("agent.fleet")


@dataclass
class FleetDevice:
    key: str
    token: str
    area: str


@dataclass
class Scenario:
    cut_every: float = 300
    cut_length: float = 120
    random_cuts_per_hour: float = 2
    random_cut_length: tuple[float, float] = (10, 60)
    windows: dict[str, tuple[time, time]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def area_is_cut(self, area: str, now: datetime) -> bool:
        if area in self.windows:
            start, end = self.windows[area]
            return start <= now.time() < end
        # A stable stagger per area, so that areas go out at different times.
        phase = int(hashlib.sha256(area.encode()).hexdigest(), 16) % int(self.cut_every)
        return (now.timestamp() - phase) % self.cut_every < self.cut_length

    def source_for(self, device: FleetDevice, clock=datetime.now):
        """A callable giving the device's mains state, sampled once a second by its agent."""
        own_cut_until = [0.0]
        chance_per_sample = self.random_cuts_per_hour / 3600

        def read() -> str:
            now = clock().astimezone()
            ts = now.timestamp()
            if ts >= own_cut_until[0] and self.rng.random() < chance_per_sample:
                own_cut_until[0] = ts + self.rng.uniform(*self.random_cut_length)
            off = self.area_is_cut(device.area, now) or ts < own_cut_until[0]
            return "off" if off else "on"

        return read


def parse_window(text: str) -> tuple[str, tuple[time, time]]:
    """`AREA=HH:MM-HH:MM`."""
    area, _equals, span = text.partition("=")
    start, _dash, end = span.partition("-")
    try:
        return area, (time.fromisoformat(start), time.fromisoformat(end))
    except ValueError:
        # Translators: AREA=HH:MM-HH:MM is the form of the option's value: keep it as it is.
        raise ValueError(_("%(text)s is not AREA=HH:MM-HH:MM") % {"text": repr(text)}) from None


async def run_fleet(
    url: str,
    devices: list[FleetDevice],
    scenario: Scenario,
    *,
    flaky: int = 1,
    flaky_every: tuple[float, float] = (30, 90),
    heartbeat: float = 60,
    duration: float | None = None,
) -> list[Agent]:
    """Run every device until cancelled (or for `duration` seconds); return the agents."""
    agents = [
        Agent(
            url,
            device.token,
            scenario.source_for(device),
            MemoryBuffer(next_seq=_seq_start()),
            heartbeat=heartbeat,
        )
        for device in devices
    ]
    tasks = [asyncio.create_task(agent.run()) for agent in agents]
    tasks += [
        asyncio.create_task(_flake(agent, scenario.rng, flaky_every)) for agent in agents[:flaky]
    ]
    try:
        if duration is None:
            await asyncio.gather(*tasks)
        else:
            await asyncio.sleep(duration)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return agents


def _seq_start() -> int:
    # In-memory devices forget their seq when the simulator stops; starting
    # from the clock keeps seq increasing over the device's whole life.
    return int(datetime.now().timestamp() * 1000)


async def _flake(agent: Agent, rng: random.Random, every: tuple[float, float]) -> None:
    while True:
        await asyncio.sleep(rng.uniform(*every))
        log.info(_("flaky device drops its connection"))
        agent.drop_connection()


def describe(scenario: Scenario, devices: list[FleetDevice]) -> str:
    areas = sorted({d.area for d in devices})
    in_areas = ngettext("in %(count)d area", "in %(count)d areas", len(areas)) % {
        "count": len(areas)
    }
    parts = [
        ngettext(
            # Translators: e.g. "6 simulated devices in 3 areas" (the last part translated
            # apart).
            "%(count)d simulated device %(in_areas)s",
            "%(count)d simulated devices %(in_areas)s",
            len(devices),
        )
        % {"count": len(devices), "in_areas": in_areas}
    ]
    for area in areas:
        if area in scenario.windows:
            start, end = scenario.windows[area]
            parts.append(
                _("%(area)s cut daily %(start)s-%(end)s")
                % {"area": area, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
            )
    cuts = {
        "length": timedelta(seconds=scenario.cut_length),
        "every": timedelta(seconds=scenario.cut_every),
    }
    if scenario.windows:
        parts.append(_("other areas cut for %(length)s every %(every)s, staggered") % cuts)
    else:
        parts.append(_("areas cut for %(length)s every %(every)s, staggered") % cuts)
    return "; ".join(parts)
