"""/healthz and /metrics: for the load balancer, the proxy's health checks and Prometheus.

Served ahead of Django's middleware, as a small ASGI application in front of it
(celc/asgi.py): they answer on any host name and over plain HTTP (a health check or a
scraper talks to a web process on its own port, by address, without TLS), and skip the
session, CSRF and sign-in machinery. Their queries run on a thread of their own, never on
the one Django's views and the sockets' session lookups share, and /healthz runs its
checks at most once a second, one run at a time, whatever the number of callers: a flood
of it costs the database and Redis nothing more and delays nobody else.

The same layer gives every HTTP request and WebSocket its id for the logs (common/logs.py):
the proxy's X-Request-ID when it is sane, else a new one, for the whole of the request.

/metrics answers only to loopback and to the addresses in CELC_METRICS_ALLOWED_ADDRESSES;
anyone else gets 403. Behind the TLS proxy the address checked is the client's, not the
proxy's: daphne's `--proxy-headers` puts it in the connection's address, and a request
that still carries X-Forwarded-For (the proxy added it but daphne was not told to read
it) is checked by its last hop too, so the proxy's own loopback address never lets the
world in.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from celc import health
from celc.proxy import last_hop
from common import logs
from devices.hub import existing_hub
from payouts.models import Payout, PayoutState

CHECKS_TIMEOUT_SECONDS = 5.0
HEALTH_CACHE_SECONDS = 1.0
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celc-ops")
_health: dict = {"at": None, "result": None, "running": None, "done": {}}
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def with_ops_endpoints(application):
    """`application`, with /healthz and /metrics answered before it sees them."""

    async def app(scope, receive, send):
        if scope["type"] == "http":
            endpoint = ENDPOINTS.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, send)
                return
        if scope["type"] in ("http", "websocket"):
            # This task's context, for everything the request logs (Django's own lines too).
            logs.request_id.set(request_id(scope))
        await application(scope, receive, send)

    return app


def request_id(scope) -> str:
    given = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), b"")
    given = given.decode("latin-1")
    return given if logs.REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _on_own_thread(function, *args):
    """`function` on the ops thread, its database connection closed (or returned to the
    pool) after it."""

    def run():
        try:
            return function(*args)
        finally:
            connection.close()

    return asyncio.get_running_loop().run_in_executor(_executor, run)


async def current_health(lag: float) -> tuple[bool, dict]:
    """The checks' result, at most HEALTH_CACHE_SECONDS old; one run at a time."""
    now = time.monotonic()
    if _health["at"] is not None and now - _health["at"] < HEALTH_CACHE_SECONDS:
        return _health["result"]
    running = _health["running"]
    if running is None or running.done():
        _health["done"] = {}
        running = _health["running"] = asyncio.ensure_future(
            _on_own_thread(health.health, lag, _health["done"])
        )
    try:
        result = await asyncio.wait_for(asyncio.shield(running), CHECKS_TIMEOUT_SECONDS)
    except TimeoutError:
        # Still running (a database that does not answer): what is known, the rest failed.
        return health.report(dict(_health["done"]))
    _health["at"], _health["result"] = time.monotonic(), result
    return result


async def respond(send, status: int, body: bytes, content_type: str, head: bool = False) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def healthz(scope, send) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        await respond(send, 405, b'{"error": "GET only"}\n', "application/json")
        return
    hub = existing_hub()
    ok, body = await current_health(hub.ingest_lag() if hub is not None else 0.0)
    payload = (json.dumps(body, sort_keys=True) + "\n").encode()
    await respond(send, 200 if ok else 503, payload, "application/json", scope["method"] == "HEAD")


def address_allowed(address: str | None, allowed=None) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    networks = (*LOOPBACK, *(settings.METRICS_ALLOWED_NETWORKS if allowed is None else allowed))
    return any(ip in network for network in networks)


def scraper_allowed(scope) -> bool:
    client = scope.get("client")
    if not address_allowed(client[0] if client else None):
        return False
    forwarded = [
        value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
    ]
    return not forwarded or address_allowed(last_hop(",".join(forwarded)))


async def metrics(scope, send) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        await respond(send, 405, b"GET only\n", "text/plain")
        return
    if not scraper_allowed(scope):
        await respond(send, 403, b"metrics are for the operator's addresses only\n", "text/plain")
        return
    body = await _on_own_thread(exposition)
    await respond(send, 200, body, CONTENT_TYPE_LATEST, scope["method"] == "HEAD")


ENDPOINTS = {"/healthz": healthz, "/metrics": metrics}


class DatabaseCollector:
    """What the database knows, read at scrape time: payouts by state, and each accrual
    shard's newest run (its lag and duration), wherever the workers run."""

    def collect(self):
        payouts = GaugeMetricFamily("celc_payouts", "Payouts by state", labels=["state"])
        amounts = GaugeMetricFamily(
            "celc_payouts_rupees", "Sum of payouts by state, in rupees", labels=["state"]
        )
        lag = GaugeMetricFamily(
            "celc_accrual_lag_seconds",
            "Seconds since the newest accrual run of each shard finished",
            labels=["shard"],
        )
        duration = GaugeMetricFamily(
            "celc_accrual_last_run_seconds",
            "Duration of the newest accrual run of each shard",
            labels=["shard"],
        )
        try:
            by_state = {
                row["state"]: row
                for row in Payout.objects.order_by()
                .values("state")
                .annotate(n=Count("id"), amount=Sum("amount"))
            }
            for state in PayoutState.values:
                row = by_state.get(state, {"n": 0, "amount": 0})
                payouts.add_metric([state], row["n"])
                amounts.add_metric([state], float(row["amount"] or 0))
            now = timezone.now()
            for shard, newest in health.newest_runs().items():
                if newest is not None:
                    lag.add_metric([str(shard)], (now - newest[0]).total_seconds())
                    duration.add_metric([str(shard)], newest[1] / 1000)
        except Exception:
            connection.close()
            raise
        yield from (payouts, amounts, lag, duration)


_database_registry = CollectorRegistry(auto_describe=False)
_database_registry.register(DatabaseCollector())


def multiprocess_dir() -> Path | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(path) if path else None


def forget_dead_processes(directory: Path) -> None:
    """Open-socket gauges of processes that died without saying so (a crash, SIGKILL) would
    count forever: drop them. Counters stay: what a dead process counted still happened."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):  # another scrape removed it first
                multiprocess.mark_process_dead(int(pid), str(directory))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition() -> bytes:
    directory = multiprocess_dir()
    if directory is None:
        processes = generate_latest(REGISTRY)
    else:
        forget_dead_processes(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, str(directory))
        processes = generate_latest(registry)
    return processes + generate_latest(_database_registry)
