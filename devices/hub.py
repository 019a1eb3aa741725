"""A web process's device connections and the ticks they sent but it has not stored yet.

Every `DEVICE_FLUSH_SECONDS` the hub stores what all its connections
received with one `store_ticks` call in a thread of its own (one database
connection, kept open), then acknowledges each device with the seq the
database now holds. A failed store keeps the ticks for the next flush and
acknowledges nothing, so an ack always means stored. Ticks are stored only
while the token they came with is still the device's (`store` checks it
under the device's row lock). Right after each commit, before the acks, it
tells the households what the flush changed (a cut started, the power came
back...: devices.live), and twice a second which devices in a cut fell
silent. Once a second it also closes the connections of devices whose token
was revoked or replaced, and settles the limits each device has over all its
connections (devices.limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
import weakref
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection
from django.utils import timezone

from common.metrics import (
    ACK_LATENCY,
    ACKS_SENT,
    FLUSH_FAILURES,
    INGEST_LAG,
    TICKS_RECEIVED,
    TICKS_STORED,
)
from devices import live
from devices.ingest import OutageEvent, Stored, store
from devices.limits import MAX_CONNECTIONS, SharedLimits
from devices.models import Device
from devices.protocol import Tick
from devices.services import device_for_token

if TYPE_CHECKING:
    from devices.consumers import DeviceConsumer

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0
SILENCE_CHECK_SECONDS = 0.5
RETRY_SECONDS = 1.0
LIMITS_SECONDS = 1.0
# Counting for Prometheus costs a few microseconds a call in multiprocess mode
# (docs/performance.md): ticks and acks are counted once per flush, and the ack latency
# of at most this many acks per flush, picked at random, is observed.
LATENCY_SAMPLE = 50


def _store(
    batch: dict[int, list[Tick]], token_hashes: dict[int, str], now, paused: frozenset[int]
) -> Stored:
    """Store a flush, then tell the households what it changed (devices.live), before the
    acks go out: one pipelined publish for all of them."""
    try:
        stored = store(batch, received_at=now, token_hashes=token_hashes)
    except Exception:
        connection.close()  # start the next try on a fresh connection
        raise
    told = {(event.device_id, event.kind) for event in stored.events}
    resumed = [
        OutageEvent("resumed", household_id, device_id, record, ())
        for device_id, (household_id, record) in stored.cuts.items()
        if device_id in paused and (device_id, "resumed") not in told
    ]
    live.publish_events(stored.events + resumed, now)
    return stored


def _credential_changes(since) -> list[tuple[int, str, bool]]:
    try:
        return [
            (pk, token_hash, revoked_at is not None)
            for pk, token_hash, revoked_at in Device.objects.filter(
                credentials_changed_at__gte=since
            ).values_list("pk", "token_hash", "revoked_at")
        ]
    except Exception:
        connection.close()
        raise


def _authenticate(token: str) -> tuple[int, str, datetime] | None:
    try:
        device = device_for_token(token)
    except Exception:
        connection.close()
        raise
    return None if device is None else (device.pk, device.token_hash, device.registered_at)


def _close_connection() -> None:
    connection.close()  # resolved in the hub's thread: that thread's connection


class DeviceHub:
    def __init__(self, flush_seconds: float):
        self.flush_seconds = flush_seconds
        # Each device's connections, oldest first (a dict as an ordered set).
        self.connections: dict[int, dict[DeviceConsumer, None]] = defaultdict(dict)
        # Ticks waiting to be stored, by device and the token hash they came with.
        self.pending: dict[tuple[int, str], list[Tick]] = {}
        # When the oldest of each device's waiting ticks arrived (monotonic): ack latency,
        # and the ingest lag /healthz reports.
        self.pending_since: dict[int, float] = {}
        self.ticks_received = 0  # since the last time they were counted for /metrics
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celc-ingest")
        # Token checks on their own threads, each keeping its database
        # connection: a reconnection storm must not open one per device.
        self.auth_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="celc-auth")
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.swept_at = timezone.now()
        self.limits = SharedLimits(settings.REDIS_URL)
        self.limits_task: asyncio.Task | None = None
        # Devices in a cut whose ticks this process stores: device id ->
        # [household id, outage id, monotonic time of the last tick stored, its ts, paused].
        self.cuts: dict[int, list] = {}
        self.silence_checked = 0.0

    async def authenticate(self, token: str) -> tuple[int, str, datetime] | None:
        """(device id, token hash, registered at) of a live device's token, or None."""
        return await asyncio.get_running_loop().run_in_executor(
            self.auth_executor, _authenticate, token
        )

    def add(self, consumer: DeviceConsumer) -> list[DeviceConsumer]:
        """Keep a new connection; return the device's connections here beyond its
        `MAX_CONNECTIONS` newest (by their number over all processes, devices.limits), to
        close at once as replaced: the new one too, when newer ones got in first."""
        mine = self.connections[consumer.device_id]
        mine[consumer] = None
        if self.task is None:
            loop = asyncio.get_running_loop()
            self.task = loop.create_task(self.run())
            # Apart from storing: Redis being slow or down must not delay an ack.
            self.limits_task = loop.create_task(self.police())
        same = [c for c in mine if c.token_hash == consumer.token_hash and not c.closing]
        if len(same) <= MAX_CONNECTIONS:
            return []
        # Numbered ones by number; those connected while Redis was down after them, in turn.
        arrival = {c: n for n, c in enumerate(same)}
        newest_first = sorted(
            same,
            key=lambda c: (1, arrival[c]) if c.generation is None else (0, c.generation),
            reverse=True,
        )
        return newest_first[MAX_CONNECTIONS:]

    def remove(self, consumer: DeviceConsumer) -> None:
        consumers = self.connections.get(consumer.device_id)
        if consumers is not None:
            consumers.pop(consumer, None)
            if not consumers:
                del self.connections[consumer.device_id]
                cut = self.cuts.get(consumer.device_id)
                if cut is not None:
                    cut[2] = -float("inf")  # gone in a cut: silent from now
                    self.wakeup.set()

    def submit(self, consumer: DeviceConsumer, ticks: tuple[Tick, ...]) -> None:
        key = (consumer.device_id, consumer.token_hash)
        self.pending.setdefault(key, []).extend(ticks)
        self.ticks_received += len(ticks)
        self.pending_since.setdefault(consumer.device_id, time.monotonic())
        self.wakeup.set()

    def ingest_lag(self) -> float:
        """Seconds the oldest tick this process holds has waited to be stored (0 if none)."""
        if not self.pending_since:
            return 0.0
        return max(0.0, time.monotonic() - min(self.pending_since.values()))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=SWEEP_SECONDS)
                await asyncio.sleep(self.flush_seconds)  # gather what else arrives
            except TimeoutError:
                pass
            self.wakeup.clear()
            INGEST_LAG.set(self.ingest_lag())
            if self.ticks_received:
                TICKS_RECEIVED.inc(self.ticks_received)
                self.ticks_received = 0
            try:
                if self.pending:
                    await self.flush(loop)
                if time.monotonic() - self.silence_checked >= SILENCE_CHECK_SECONDS:
                    await self.check_silence(loop)
                if (timezone.now() - self.swept_at).total_seconds() >= SWEEP_SECONDS:
                    await self.sweep(loop)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The hub must outlive anything one connection does to it.
                log.exception("device hub iteration failed; carrying on")

    async def flush(self, loop) -> None:
        # One token per device and store: ticks a device sent under an old and a new
        # token (in the second before the sweep closes the old connection) are
        # stored in turn, each only if its token is still the device's.
        batch: dict[int, list[Tick]] = {}
        token_hashes: dict[int, str] = {}
        later: dict[tuple[int, str], list[Tick]] = {}
        for (device_id, token_hash), ticks in self.pending.items():
            if device_id in batch:
                later[(device_id, token_hash)] = ticks
            else:
                batch[device_id], token_hashes[device_id] = ticks, token_hash
        self.pending = later
        if later:
            self.wakeup.set()
        for ticks in batch.values():
            ticks.sort(key=lambda tick: tick.seq)  # stable: the first of a repeated seq wins
        paused = frozenset(d for d in batch if d in self.cuts and self.cuts[d][4])
        flush_started = time.monotonic()
        try:
            stored = await loop.run_in_executor(
                self.executor, _store, batch, token_hashes, timezone.now(), paused
            )
        except Exception:
            FLUSH_FAILURES.inc()
            log.exception("storing %d devices' ticks failed; retrying", len(batch))
            retry = {
                (device_id, token_hashes[device_id]): ticks for device_id, ticks in batch.items()
            }
            for key, ticks in self.pending.items():
                retry.setdefault(key, []).extend(ticks)
            self.pending = retry
            self.wakeup.set()
            await asyncio.sleep(RETRY_SECONDS)
            return
        acks = stored.acks
        stored_at = time.monotonic()
        TICKS_STORED.inc(sum(len(ticks) for device_id, ticks in batch.items() if device_id in acks))
        # A device with ticks still waiting keeps its time if they waited before this flush
        # (another token's), else they arrived during it.
        since = {d: self.pending_since.pop(d) for d in batch if d in self.pending_since}
        waited = {device_id for device_id, _ in later}
        for device_id, _ in self.pending:
            if device_id in since:
                self.pending_since[device_id] = (
                    since[device_id] if device_id in waited else flush_started
                )
        for device_id in batch:
            if device_id in stored.cuts:
                household_id, record = stored.cuts[device_id]
                self.cuts[device_id] = [
                    household_id,
                    record.id,
                    stored_at,
                    record.last_tick_at,
                    False,
                ]
            else:
                self.cuts.pop(device_id, None)
        latencies, sent = [], 0
        for device_id, token_hash in token_hashes.items():
            for consumer in list(self.connections.get(device_id, ())):
                if consumer.token_hash != token_hash:
                    continue  # another token's connection: its own store, or the sweep, decides
                if device_id not in acks:  # revoked or replaced while its ticks waited
                    await consumer.refuse()
                elif acks[device_id] is not None:
                    try:
                        await consumer.send_ack(acks[device_id])
                    except Exception:  # a socket gone mid-flush: it replays on reconnect
                        log.debug("ack to a closing connection dropped", exc_info=True)
                    else:
                        sent += 1
                        if device_id in since:
                            latencies.append(time.monotonic() - since[device_id])
        if sent:
            ACKS_SENT.inc(sent)
        for latency in random.sample(latencies, min(LATENCY_SAMPLE, len(latencies))):
            ACK_LATENCY.observe(latency)

    async def check_silence(self, loop) -> None:
        """Devices in a cut that stopped ticking here: their households' pages pause them."""
        now = time.monotonic()
        self.silence_checked = now
        silent = [
            (device_id, cut)
            for device_id, cut in self.cuts.items()
            if not cut[4] and now - cut[2] > live.PAUSE_AFTER
        ]
        if not silent:
            return
        for device_id, cut in silent:
            cut[4] = True
            if device_id not in self.connections:
                del self.cuts[device_id]  # gone: another process stores its ticks if any
        paused = [(cut[0], device_id, cut[1], cut[3]) for device_id, cut in silent]
        try:
            await loop.run_in_executor(self.executor, live.publish_paused, paused, timezone.now())
        except Exception:
            log.exception("telling households of silent devices failed")

    async def sweep(self, loop) -> None:
        started = timezone.now()
        # Overlap the windows a little: another process's clock may lag.
        since = self.swept_at - timedelta(seconds=2)
        try:
            changes = await loop.run_in_executor(self.executor, _credential_changes, since)
        except Exception:
            log.exception("checking for revoked devices failed")
            return
        self.swept_at = started
        for device_id, token_hash, revoked in changes:
            for consumer in list(self.connections.get(device_id, ())):
                if revoked or consumer.token_hash != token_hash:
                    await consumer.refuse()

    async def police(self) -> None:
        """Once a second: settle the device limits shared with other processes, and close
        the connections of devices over the rate and those replaced by newer ones."""
        while True:
            await asyncio.sleep(LIMITS_SECONDS)
            try:
                connections = [c for each in self.connections.values() for c in each]
                over, replaced = await self.limits.settle(connections)
                for consumer in connections:
                    if consumer.token_hash in over:
                        await consumer.rate_limited()
                for consumer in replaced:
                    await consumer.replaced()
                self.limits.forget_idle({consumer.token_hash for consumer in connections})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("device limits iteration failed; carrying on")

    async def aclose(self) -> None:
        """Stop the loops and close the database and Redis connections (tests, shutdown)."""
        for task in (self.task, self.limits_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.task = self.limits_task = None
        await self.limits.aclose()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, _close_connection)
        # One close on each auth thread: each waits for the others, so that no thread takes
        # two (one after the other, an idle thread would take them all).
        threads = self.auth_executor._max_workers
        together = threading.Barrier(threads)

        def close_and_wait() -> None:
            _close_connection()
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait(timeout=10)

        await asyncio.gather(
            *(loop.run_in_executor(self.auth_executor, close_and_wait) for _ in range(threads))
        )


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> DeviceHub:
    """The hub of the running event loop (one per web process; one per test loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = DeviceHub(settings.DEVICE_FLUSH_SECONDS)
    return hub


def existing_hub() -> DeviceHub | None:
    """The running event loop's hub if a device has connected to this process (/healthz)."""
    return _hubs.get(asyncio.get_running_loop())
