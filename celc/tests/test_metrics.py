"""/metrics: Prometheus's view of a whole machine, whichever web process answers.

Two daphne processes, two Celery workers and beat share PROMETHEUS_MULTIPROC_DIR as in
production (common/metrics.py): a device streams a cut to one web process while its
household watches on the other, and the other's /metrics counts it all, moving between
two scrapes. Only loopback and the listed addresses may read it."""

import asyncio
import http.client
import ipaddress
import json
import os
import signal
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from celc.ops import address_allowed, scraper_allowed
from celc.tests.test_scale_out import Cluster
from celc.tests.test_settings import run_manage
from devtools.testing import session_cookie
from faults.test_faults import Fleet, until

pytestmark = pytest.mark.django_db(transaction=True)


def scrape(port: int, headers: dict | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/metrics", headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def total(found: dict, name: str, **labels) -> float:
    """Summed over the samples of `name` that have these labels (any pid, any other label)."""
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


class Watcher(threading.Thread):
    """A household's dashboard socket, open until stopped."""

    def __init__(self, url: str, cookie: str):
        super().__init__(daemon=True)
        self.url, self.cookie = url, cookie
        self.messages = 0
        self.loop = asyncio.new_event_loop()
        self.stopped = asyncio.Event()

    def run(self):
        self.loop.run_until_complete(self.watch())

    async def watch(self):
        origin = self.url.replace("ws://", "http://").split("/ws/")[0]
        headers = {"Cookie": self.cookie, "Origin": origin}
        async with connect(self.url, additional_headers=headers) as ws:
            while not self.stopped.is_set():
                try:
                    await asyncio.wait_for(ws.recv(), timeout=0.5)
                    self.messages += 1
                except TimeoutError:
                    pass

    def stop(self):
        self.loop.call_soon_threadsafe(self.stopped.set)
        self.join(timeout=10)


async def send_bad_frame(url: str, token: str) -> dict:
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        await ws.send(json.dumps({"type": "hello"}))
        return json.loads(await ws.recv())


def test_a_scrape_during_a_cut_counts_every_process_and_the_numbers_move(
    alice, register_device, server_env, tmp_path
):
    device, token = register_device(alice)
    _, other_token = register_device(alice, name="Shed")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    cluster = Cluster({**server_env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}, tmp_path)
    device_port, watch_port = cluster.web_ports
    fleet = Fleet(f"ws://127.0.0.1:{device_port}/ws/device/", {device.pk: token})
    watcher = Watcher(f"ws://127.0.0.1:{watch_port}/ws/balance/", session_cookie(alice))
    try:
        fleet.start()
        watcher.start()
        until(lambda: fleet.acked_at_least(3), 60, "the device's ticks to be acknowledged")
        error = asyncio.run(send_bad_frame(f"ws://127.0.0.1:{device_port}/ws/device/", other_token))
        assert error["code"] == "bad_message"
        until(lambda: watcher.messages >= 2, 60, "the dashboard to hear of the cut")

        status, text = scrape(watch_port)  # the process the device is not on
        assert status == 200
        first = samples(text)

        def moved() -> bool:
            now = samples(scrape(watch_port)[1])
            return all(
                total(now, name) > total(first, name)
                for name in (
                    "celc_ticks_received_total",
                    "celc_accrual_run_seconds_count",
                    "celc_broadcasts_total",  # quotes and heartbeats, some seconds apart
                )
            )

        until(moved, 60, "more ticks, another accrual run and another broadcast")
        second = samples(scrape(watch_port)[1])

        for counter in ("celc_ticks_received_total", "celc_ticks_stored_total",
                        "celc_acks_sent_total", "celc_ack_latency_seconds_count"):  # fmt: skip
            assert value(second, counter) > value(first, counter) > 0, counter
        assert value(second, "celc_ack_latency_seconds_bucket", le="+Inf") == value(
            second, "celc_ack_latency_seconds_count"
        )
        assert value(second, "celc_protocol_errors_total", code="bad_message") == 1
        # Open sockets, per process: the device on one, the household's page on the other.
        device_pid = str(cluster.procs["web-0"].pid)
        watch_pid = str(cluster.procs["web-1"].pid)
        assert value(second, "celc_device_sockets", pid=device_pid) == 1
        assert value(second, "celc_device_sockets", pid=watch_pid) == 0
        assert value(second, "celc_household_sockets", pid=watch_pid) == 1
        # Broadcasts: the web process tells of the cut, the workers' runs send quotes.
        assert total(second, "celc_broadcasts_total") > total(first, "celc_broadcasts_total")
        assert total(second, "celc_broadcasts_total", type="balance.event") >= 1
        # The accrual, timed by the workers and read from the database.
        assert total(second, "celc_accrual_run_seconds_count") > 0
        assert value(second, "celc_accrual_lag_seconds", shard="0") < 60
        assert value(second, "celc_accrual_lag_seconds", shard="1") < 60
        for state in ("awaiting", "approved", "rejected", "paid"):
            assert ("celc_payouts", (("state", state),)) in second

        # A web process killed outright leaves: its open sockets no longer count.
        fleet.stop()
        os.killpg(cluster.procs["web-0"].pid, signal.SIGKILL)
        cluster.procs["web-0"].wait()
        after = samples(scrape(watch_port)[1])
        assert value(after, "celc_device_sockets", pid=device_pid) == 0
        assert value(after, "celc_ticks_received_total") >= value(
            second, "celc_ticks_received_total"
        )
    finally:
        watcher.stop()
        fleet.stop()
        cluster.stop()


def test_only_loopback_and_the_listed_addresses_may_scrape(daphne, settings):
    assert scrape(daphne.port)[0] == 200
    # Through a proxy that says the client is elsewhere (daphne not told to read it).
    status, body = scrape(daphne.port, {"X-Forwarded-For": "203.0.113.9"})
    assert status == 403
    assert "celc_" not in body


@pytest.mark.parametrize(
    ("address", "forwarded", "allowed"),
    [
        ("127.0.0.1", None, True),
        ("::1", None, True),
        ("::ffff:127.0.0.1", None, True),
        ("10.0.0.5", None, True),  # listed
        ("10.0.0.6", None, False),
        ("192.168.10.77", None, True),  # in the listed network
        ("203.0.113.9", None, False),
        ("127.0.0.1", "203.0.113.9", False),  # the proxy's address, for a stranger
        ("127.0.0.1", "203.0.113.9, 10.0.0.5", True),  # the proxy appended a listed one
        ("127.0.0.1", "10.0.0.5, 203.0.113.9", False),  # only the last hop counts
        ("127.0.0.1", "not an address", False),
        (None, None, False),
    ],
)
def test_who_may_scrape(address, forwarded, allowed, settings):
    settings.METRICS_ALLOWED_NETWORKS = [
        ipaddress.ip_network("10.0.0.5"),
        ipaddress.ip_network("192.168.10.0/24"),
    ]
    scope = {
        "client": (address, 50000) if address else None,
        "headers": [(b"x-forwarded-for", forwarded.encode())] if forwarded else [],
    }

    assert scraper_allowed(scope) is allowed


def test_a_listed_address_must_be_an_address():
    assert not address_allowed("example.org", allowed=[])


def test_a_mistyped_network_is_refused_rather_than_widened():
    result = run_manage("check", DJANGO_DEBUG="1", CELC_METRICS_ALLOWED_ADDRESSES="10.0.0.5/8")

    assert result.returncode != 0
    assert "CELC_METRICS_ALLOWED_ADDRESSES" in result.stderr
    assert "has host bits set" in result.stderr
