"""Scale-out on loopback: two web processes and two Celery workers sharing Redis and the database.

As behind a load balancer: every device streams to one daphne process while
its household watches on the other, and the accrual is split into two shards
that two workers take in parallel. Each household sees its own device's ticks
(and nobody else's) through the other process, both workers run accrual
shards, and when the cut ends every household's ledger equals the closed form:
nothing posted twice, nothing missed.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
from datetime import datetime

import pytest
from websockets.asyncio.client import connect

from devtools.stack import BASE_DIR, daphne_argv, free_port, redis_argv, wait_for_port
from devtools.testing import session_cookie
from faults.test_faults import Fleet, ledger_matches_closed_form, until
from payouts.models import AccrualRun

pytestmark = pytest.mark.django_db(transaction=True)


class Cluster:
    """A private Redis, two daphne processes, two workers and beat, each its own process group."""

    def __init__(self, env: dict, tmp_path):
        self.tmp = tmp_path
        redis_port = free_port()
        self.web_ports = [free_port(), free_port()]
        self.env = {
            **env,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CELC_CHANNEL_PREFIX": f"scale{redis_port}",
            "CELC_ACCRUAL_SHARDS": "2",
        }
        self.procs: dict[str, subprocess.Popen] = {}
        self.spawn("redis", redis_argv(redis_port, tmp_path), port=redis_port)
        for n, port in enumerate(self.web_ports):
            self.spawn(f"web-{n}", daphne_argv("127.0.0.1", port), port=port)
        celery = [sys.executable, "-m", "celery", "-A", "celc"]
        for n in range(2):
            self.spawn(
                f"worker-{n}",
                [*celery, "worker", "-n", f"worker{n}@%h", "--concurrency", "1",
                 "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
            )  # fmt: skip
        self.spawn("beat", [*celery, "beat", "--schedule", str(tmp_path / "beat-schedule")])

    def spawn(self, name: str, argv: list[str], port: int | None = None) -> None:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            argv, cwd=BASE_DIR, env=self.env, stdout=log, stderr=log, start_new_session=True
        )
        self.procs[name] = proc
        if port and not wait_for_port("127.0.0.1", port, 60, alive=lambda: proc.poll() is None):
            raise RuntimeError(f"{name} did not start")

    def tasks_done(self) -> dict[str, dict[str, int]]:
        """Tasks each worker has run, by name (`celery inspect stats`), keyed `worker0`..."""
        out = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "celc", "inspect", "stats", "--json"],
            cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout  # fmt: skip
        stats = json.loads(out.strip().splitlines()[-1])
        return {name.split("@")[0]: worker.get("total", {}) for name, worker in stats.items()}

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


async def watch(url: str, cookie: str, seen: list[dict], enough) -> None:
    """A household's dashboard socket, keeping every update until `enough(seen)`."""
    origin = url.replace("ws://", "http://").split("/ws/")[0]
    async with connect(url, additional_headers={"Cookie": cookie, "Origin": origin}) as ws:
        while not enough(seen):
            message = json.loads(await ws.recv())
            if "devices" in message:
                seen.append(message)


def test_a_household_on_one_web_process_sees_its_device_on_the_other_and_shards_post_once(
    alice, bob, django_user_model, register_device, server_env, tmp_path
):
    households = [
        alice,
        bob,
        *(django_user_model.objects.create_user(f"house{n}", password="pw-123456") for n in (3, 4)),
    ]
    assert {h.pk % 2 for h in households} == {0, 1}  # both shards have households
    tokens, device_of = {}, {}
    for household in households:
        device, token = register_device(household)
        tokens[device.pk] = token
        device_of[household.pk] = device.pk
    cookies = {h.pk: session_cookie(h) for h in households}
    cluster = Cluster(server_env, tmp_path)
    device_url, balance_url = (
        f"ws://127.0.0.1:{cluster.web_ports[0]}/ws/device/",
        f"ws://127.0.0.1:{cluster.web_ports[1]}/ws/balance/",
    )
    fleet = Fleet(device_url, tokens)  # every device on web-0
    try:
        fleet.start()
        until(lambda: fleet.acked_at_least(3), 60, "every device to be acknowledged")
        started = datetime.now().astimezone()
        seen = {pk: [] for pk in cookies}

        def counted_a_tick_from_now(updates: list[dict]) -> bool:
            """An update counting a tick its device sent after `started`."""
            return any(
                (outage := state["outage"]) is not None
                and datetime.fromisoformat(outage["last_tick_at"]) >= started
                for update in updates
                for state in update["devices"]
            )

        async def watch_all():
            await asyncio.wait_for(
                asyncio.gather(
                    *(
                        watch(balance_url, cookies[pk], seen[pk], counted_a_tick_from_now)
                        for pk in cookies
                    )
                ),
                timeout=60,
            )

        asyncio.run(watch_all())  # every household on web-1

        for household_id, updates in seen.items():
            shown = {state["id"] for update in updates for state in update["devices"]}
            assert shown == {device_of[household_id]}  # its own device, nobody else's
        fleet.power = "on"
        until(fleet.drained, 60, "the cut to end and every tick to be acknowledged")
        until(lambda: ledger_matches_closed_form() == [], 60, "the ledger to settle")
        assert ledger_matches_closed_form() == []
        assert set(AccrualRun.objects.values_list("shard", flat=True)) == {0, 1}
        done = cluster.tasks_done()
        for n in range(2):
            assert done[f"worker{n}"].get("payouts.tasks.accrue_and_broadcast", 0) > 0, done
    finally:
        fleet.stop()
        cluster.stop()
