"""A web process's device connections and the ticks they sent but it has not stored yet.

Every `DEVICE_FLUSH_SECONDS` the hub stores what all its connections
received with one `store_ticks` call in a thread of its own (one database
connection, kept open), then acknowledges each device with the seq the
database now holds. A failed store keeps the ticks for the next flush and
acknowledges nothing, so an ack always means stored. Once a second it also
closes the connections of devices whose token was revoked or replaced.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection
from django.utils import timezone

from devices.ingest import store_ticks
from devices.models import Device
from devices.protocol import Tick
from devices.services import device_for_token

if TYPE_CHECKING:
    from devices.consumers import DeviceConsumer

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0
RETRY_SECONDS = 1.0


def _store(batch: dict[int, list[Tick]], now) -> dict[int, int | None]:
    try:
        return store_ticks(batch, received_at=now)
    except Exception:
        connection.close()  # start the next try on a fresh connection
        raise


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


def _authenticate(token: str) -> tuple[int, str] | None:
    try:
        device = device_for_token(token)
    except Exception:
        connection.close()
        raise
    return None if device is None else (device.pk, device.token_hash)


def _close_connection() -> None:
    connection.close()  # resolved in the hub's thread: that thread's connection


class DeviceHub:
    def __init__(self, flush_seconds: float):
        self.flush_seconds = flush_seconds
        self.connections: dict[int, set[DeviceConsumer]] = defaultdict(set)
        self.pending: dict[int, list[Tick]] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="celc-ingest")
        # Token checks on their own threads, each keeping its database
        # connection: a reconnection storm must not open one per device.
        self.auth_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="celc-auth")
        self.wakeup = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.swept_at = timezone.now()

    async def authenticate(self, token: str) -> tuple[int, str] | None:
        """(device id, token hash) of a live device's token, or None."""
        return await asyncio.get_running_loop().run_in_executor(
            self.auth_executor, _authenticate, token
        )

    def add(self, consumer: DeviceConsumer) -> None:
        self.connections[consumer.device_id].add(consumer)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.run())

    def remove(self, consumer: DeviceConsumer) -> None:
        consumers = self.connections.get(consumer.device_id)
        if consumers is not None:
            consumers.discard(consumer)
            if not consumers:
                del self.connections[consumer.device_id]

    def submit(self, device_id: int, ticks: tuple[Tick, ...]) -> None:
        self.pending.setdefault(device_id, []).extend(ticks)
        self.wakeup.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.wait_for(self.wakeup.wait(), timeout=SWEEP_SECONDS)
                await asyncio.sleep(self.flush_seconds)  # gather what else arrives
            except TimeoutError:
                pass
            self.wakeup.clear()
            try:
                if self.pending:
                    await self.flush(loop)
                if (timezone.now() - self.swept_at).total_seconds() >= SWEEP_SECONDS:
                    await self.sweep(loop)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The hub must outlive anything one connection does to it.
                log.exception("device hub iteration failed; carrying on")

    async def flush(self, loop) -> None:
        batch, self.pending = self.pending, {}
        for ticks in batch.values():
            ticks.sort(key=lambda tick: tick.seq)  # stable: the first of a repeated seq wins
        try:
            acks = await loop.run_in_executor(self.executor, _store, batch, timezone.now())
        except Exception:
            log.exception("storing %d devices' ticks failed; retrying", len(batch))
            for device_id, ticks in self.pending.items():
                batch.setdefault(device_id, []).extend(ticks)
            self.pending = batch
            self.wakeup.set()
            await asyncio.sleep(RETRY_SECONDS)
            return
        for device_id in batch:
            consumers = list(self.connections.get(device_id, ()))
            if device_id not in acks:  # revoked while its ticks waited
                for consumer in consumers:
                    await consumer.refuse()
            elif acks[device_id] is not None:
                for consumer in consumers:
                    try:
                        await consumer.send_ack(acks[device_id])
                    except Exception:  # a socket gone mid-flush: it replays on reconnect
                        log.debug("ack to a closing connection dropped", exc_info=True)

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

    async def aclose(self) -> None:
        """Stop the loop and close the database connection (tests, shutdown)."""
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, _close_connection)
        for _ in range(self.auth_executor._max_workers):
            await loop.run_in_executor(self.auth_executor, _close_connection)


_hubs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def get_hub() -> DeviceHub:
    """The hub of the running event loop (one per web process; one per test loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = DeviceHub(settings.DEVICE_FLUSH_SECONDS)
    return hub
