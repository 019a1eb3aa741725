"""Publishing to the live pages' groups on the channel layer, for every app.

One group per household (`household.<id>`), one per signed-in user's board
pages (`account.<id>`: told when that user signs out or changes the password),
the board's, and every dashboard's heartbeat group. Whoever produces a change
publishes it through here: the web process that stored a tick, the accrual
run, the account views. Consumers only forward what arrives.

Many messages go out in one Redis pipeline: what `group_send` does on the
channels-redis pub/sub layer (a PUBLISH of the serialized message to the
group's channel `<prefix>__group__<group>`), for all of them in one round trip
instead of one each. Tied to channels-redis 4.3's naming (pinned in
requirements.txt); the consumers' tests check that messages still arrive.
Live updates are best effort: a failure is logged, and the next quote sends
the state again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from common.metrics import BROADCAST_FAILURES, BROADCASTS

log = logging.getLogger(__name__)

# Every dashboard also listens here: a heartbeat through the channel layer tells
# the page that the live path (Redis included) works even when nothing changes.
LIVE_GROUP = "live"
# Open /board/ pages (board staff only) listen here for the areas out now.
BOARD_GROUP = "board"


def household_group(household_id: int) -> str:
    return f"household.{household_id}"


def account_group(user_id: int) -> str:
    """A user's pages that are not a household's dashboard (the board's), for account events:
    a dashboard hears them in its household's group, and needs no second subscription."""
    return f"account.{user_id}"


def group_channel(group: str) -> str:
    """The Redis channel of a group on the pub/sub layer."""
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    return f"{prefix}__group__{group}"


_redis_clients: dict[str, redis.Redis] = {}


def client(address: str | None = None) -> redis.Redis:
    """One Redis client per address, kept for the process."""
    address = address or settings.REDIS_URL
    found = _redis_clients.get(address)
    if found is None:
        found = _redis_clients[address] = redis.Redis.from_url(address)
    return found


def publish(messages: Iterable[tuple[str, dict]]) -> int:
    """Send each (group, message) pair; returns how many were sent (0 when Redis failed)."""
    messages = list(messages)
    if not messages:
        return 0
    count_by_type(messages)
    layer = get_channel_layer()
    hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    try:
        if isinstance(layer, RedisPubSubChannelLayer) and len(hosts) == 1:
            with client(hosts[0]["address"]).pipeline(transaction=False) as pipe:
                for group, message in messages:
                    pipe.publish(group_channel(group), layer.serialize(message))
                pipe.execute()
        else:
            async_to_sync(_send_all)(messages)
    except (redis.RedisError, OSError) as error:
        BROADCAST_FAILURES.inc(len(messages))
        log.warning("%d live messages not sent: %s", len(messages), error)
        return 0
    return len(messages)


def count_by_type(messages: list[tuple[str, dict]]) -> None:
    for kind, n in Counter(message["type"] for _, message in messages).items():
        BROADCASTS.labels(kind).inc(n)


async def _send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    results = await asyncio.gather(
        *(layer.group_send(group, message) for group, message in messages),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        BROADCAST_FAILURES.inc(len(failed))
        log.warning("%d of %d live messages failed: %s", len(failed), len(results), failed[0])


def watched(groups: Iterable[str]) -> set[str]:
    """The groups that have a subscriber now: an open page in some web process."""
    groups = list(groups)
    if not groups:
        return set()
    try:
        counts = client().pubsub_numsub(*(group_channel(group) for group in groups))
    except (redis.RedisError, OSError) as error:
        log.warning("could not tell which pages are open: %s", error)
        return set(groups)  # better a quote too many than a page left stale
    return {group for group, (_, count) in zip(groups, counts, strict=True) if count}
