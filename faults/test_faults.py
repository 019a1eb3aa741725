"""Fault injection: the whole stack on loopback, 50 devices in a cut, each server killed in turn.

`make test-faults` runs this suite (and `.ci/run` does). Every server is the
test's own: a private Redis on a free port, daphne, a Celery worker and
Celery beat on the test database. Each is killed with SIGKILL and started
again while 50 reference agents stream a cut, and on PostgreSQL runs with
CELC_FAULTS_RESTART_POSTGRES=1 (CI) the machine's PostgreSQL is restarted
too; a second beat runs for a while by mistake. Afterwards, for every device,
what the server holds equals what the agent sent (witnessed time, ticks,
last sequence number), and every household's ledger equals the closed form
to the last of 6 places.
"""

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from agent import reference as agent_module
from agent.reference import Agent, MemoryBuffer
from devices.models import Device, Outage
from devices.outages import reference_witnessed
from devices.protocol import Tick
from devtools.stack import (
    BASE_DIR,
    daphne_argv,
    free_port,
    redis_argv,
    wait_for_port,
)
from payouts import accrual
from payouts.models import LedgerEntry
from policy.compensation import household_owed
from policy.evidence import evidence_rules

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

HOUSEHOLDS, DEVICES_EACH = 25, 2


class Servers:
    """The stack's processes, each its own process group, to kill and start again by name."""

    def __init__(self, env: dict, tmp_path):
        self.redis_port = free_port()
        self.web_port = free_port()
        self.env = {
            **env,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELC_CHANNEL_PREFIX": f"faults{self.redis_port}",
        }
        self.tmp = tmp_path
        self.procs: dict[str, subprocess.Popen] = {}
        self.extra_beat = None
        python = sys.executable
        beat = [python, "-m", "celery", "-A", "celc", "beat", "--loglevel", "WARNING"]
        self.argv = {
            "redis": redis_argv(self.redis_port, tmp_path),
            "daphne": daphne_argv("127.0.0.1", self.web_port),
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "celc",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "2",
                "--without-mingle",
                "--without-gossip",
            ],
            "beat": [*beat, "--schedule", str(tmp_path / "beat-1")],
        }
        self.second_beat = [*beat, "--schedule", str(tmp_path / "beat-2")]

    @property
    def device_url(self) -> str:
        return f"ws://127.0.0.1:{self.web_port}/ws/device/"

    def spawn(self, argv) -> subprocess.Popen:
        log = open(self.tmp / f"{os.path.basename(argv[-1])}.log", "ab")  # noqa: SIM115
        return subprocess.Popen(
            argv, cwd=BASE_DIR, env=self.env, stdout=log, stderr=log, start_new_session=True
        )

    def start(self, name: str) -> None:
        self.procs[name] = self.spawn(self.argv[name])
        port = {"redis": self.redis_port, "daphne": self.web_port}.get(name)
        if port and not wait_for_port("127.0.0.1", port, 60, alive=lambda: self.alive(name)):
            raise RuntimeError(f"{name} did not start")

    def alive(self, name: str) -> bool:
        return self.procs[name].poll() is None

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait()

    def stop_all(self) -> None:
        for proc in [*self.procs.values(), self.extra_beat]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in [*self.procs.values(), self.extra_beat]:
            if proc is not None:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


class Recording(MemoryBuffer):
    """A device's buffer that also remembers every tick it ever made."""

    def __init__(self):
        super().__init__()
        self.made: list[dict] = []

    def append(self, ts, power):
        tick = super().append(ts, power)
        self.made.append(tick)
        return tick


class Fleet(threading.Thread):
    """The reference agents, in one event loop of their own."""

    def __init__(self, url: str, tokens: dict[int, str]):
        super().__init__(daemon=True)
        self.power = "off"
        self.buffers = {pk: Recording() for pk in tokens}
        self.agents = {
            pk: Agent(url, token, lambda: self.power, self.buffers[pk], rng=random.Random(pk))
            for pk, token in tokens.items()
        }
        self.loop = asyncio.new_event_loop()

    def run(self):
        asyncio.set_event_loop(self.loop)
        self.tasks = [self.loop.create_task(a.run()) for a in self.agents.values()]
        self.loop.run_forever()

    def stop(self):
        def cancel():
            for task in self.tasks:
                task.cancel()
            self.loop.call_later(0.5, self.loop.stop)

        self.loop.call_soon_threadsafe(cancel)
        self.join(timeout=10)

    def acked_at_least(self, n: int) -> bool:
        return all((a.acked or 0) >= n for a in self.agents.values())

    def drained(self) -> bool:
        return all(
            len(self.buffers[pk]) == 0 and b.made and b.made[-1]["power"] == "on"
            for pk, b in self.buffers.items()
        )


def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def ledger_matches_closed_form() -> list[str]:
    """Households whose ledger total differs from the closed form now (none when settled)."""
    facts = accrual.facts_for(accrual.Q())
    policies = accrual.current_policies()
    now = timezone.now()
    by_household: dict[int, list] = {}
    for f in facts.values():
        by_household.setdefault(f.household_id, []).append(f)
    wrong = []
    for household_id, outages in by_household.items():
        owed = sum(household_owed(outages, policies, now).by_outage.values(), Decimal(0))
        posted = sum(
            LedgerEntry.objects.filter(household_id=household_id).values_list("amount", flat=True),
            Decimal(0),
        )
        if owed != posted:
            wrong.append(f"household {household_id}: ledger {posted}, closed form {owed}")
    connection.close()
    return wrong


def test_killing_every_server_in_turn_loses_and_doubles_nothing(
    django_user_model, register_device, server_env, tmp_path, monkeypatch
):
    monkeypatch.setattr(agent_module, "BACKOFF_CAP", 1.0)
    tokens = {}
    for h in range(HOUSEHOLDS):
        household = django_user_model.objects.create_user(f"house{h:02d}")
        for d in range(DEVICES_EACH):
            device, token = register_device(household, name=f"meter {d}", area_code=f"AREA-{h % 5}")
            tokens[device.pk] = token
    servers = Servers(server_env, tmp_path)
    fleet = None
    try:
        for name in ("redis", "daphne", "worker", "beat"):
            servers.start(name)
        fleet = Fleet(servers.device_url, tokens)
        fleet.start()
        until(lambda: fleet.acked_at_least(3), 60, "every device to be acknowledged")

        kills = 0
        for name in ("daphne", "worker", "beat", "redis", "postgresql"):
            if name == "postgresql":
                if not restarts_postgresql():
                    continue
                connection.close()
                restart_postgresql()
            else:
                servers.kill(name)
                time.sleep(3)  # ticks pile up in the agents' buffers meanwhile
                servers.start(name)
            kills += 1
            high = max(len(b.made) for b in fleet.buffers.values())
            until(lambda h=high: fleet.acked_at_least(h - 2), 90, f"recovery after {name}")
        # Two beats by mistake, for a while: the accrual runs twice a second.
        servers.extra_beat = servers.spawn(servers.second_beat)
        time.sleep(6)
        os.killpg(servers.extra_beat.pid, signal.SIGTERM)
        servers.extra_beat.wait(timeout=15)

        fleet.power = "on"
        until(fleet.drained, 90, "every tick to be acknowledged")
        until(lambda: ledger_matches_closed_form() == [], 90, "the ledger to settle")
    finally:
        if fleet is not None:
            fleet.stop()
        servers.stop_all()

    max_gap = evidence_rules().max_gap
    for pk, buffer in fleet.buffers.items():
        made = [Tick(t["seq"], datetime.fromisoformat(t["ts"]), t["power"]) for t in buffer.made]
        witnessed, cuts = reference_witnessed(made, max_gap)
        device = Device.objects.get(pk=pk)
        outages = list(Outage.objects.filter(device=device))
        assert device.last_seq == made[-1].seq, f"device {pk}: an acknowledged tick is missing"
        assert len(outages) == cuts == 1
        assert sum(o.witnessed_seconds for o in outages) == witnessed, f"device {pk}"
        assert outages[0].ticks_received == sum(1 for t in made if t.power == "off")
        assert outages[0].status == "ended"
    assert ledger_matches_closed_form() == []
    assert kills == (5 if restarts_postgresql() else 4)


def restart_postgresql() -> None:
    """Restart the machine's PostgreSQL cluster (fast: open connections are cut)."""
    clusters = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout.split()
    version, name = clusters[0], clusters[1]
    subprocess.run(["pg_ctlcluster", version, name, "restart", "-m", "fast"], check=True)


def restarts_postgresql() -> bool:
    """On PostgreSQL runs that allow it: it restarts the machine's cluster (CI sets it)."""
    return (
        connection.vendor == "postgresql" and os.environ.get("CELC_FAULTS_RESTART_POSTGRES") == "1"
    )
