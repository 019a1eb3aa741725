"""The one module that talks to the channel layer about households.

Everything that wants a household's dashboard to change calls a function
here; consumers only forward what arrives. Event types are prefixed
(`balance.update`) so that a consumer method handles exactly one kind.
"""

import asyncio
import logging

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

log = logging.getLogger(__name__)


# Every dashboard also listens here: a heartbeat through the channel layer tells
# the page that the live path (Redis included) works even when nothing changes.
LIVE_GROUP = "live"
# Open /board/ pages (board staff only) listen here for the areas out now.
BOARD_GROUP = "board"


def household_group(household_id: int) -> str:
    return f"household.{household_id}"


def send_heartbeat(at: str) -> None:
    """One `live.heartbeat` to every open dashboard (one PUBLISH whatever their number)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            LIVE_GROUP, {"type": "live.heartbeat", "at": at}
        )
    except (redis.RedisError, OSError) as error:
        log.warning("heartbeat not sent: %s", error)


def board_watched() -> bool:
    """Whether any web process has an open board page: the board group's channel has a
    subscriber (channels-redis 4.3's pub/sub layer names it `<prefix>__group__<group>`;
    pinned in requirements.txt). When nobody watches, the board's figures are not worked out.
    """
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    try:
        ((_, count),) = _client(settings.REDIS_URL).pubsub_numsub(f"{prefix}__group__{BOARD_GROUP}")
    except (redis.RedisError, OSError) as error:
        log.warning("could not tell whether the board is watched: %s", error)
        return False
    return count > 0


def send_board_update(payload: dict) -> None:
    """The areas out now to every open board page (one PUBLISH whatever their number)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            BOARD_GROUP, {"type": "board.update", "payload": payload}
        )
    except (redis.RedisError, OSError) as error:
        log.warning("board update not sent: %s", error)


def send_household_updates(payloads: dict[int, dict]) -> int:
    """One `balance.update` per household. Returns how many were sent."""
    if not payloads:
        return 0
    layer = get_channel_layer()
    hosts = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"]
    if isinstance(layer, RedisPubSubChannelLayer) and len(hosts) == 1:
        _publish_pipelined(layer, hosts[0]["address"], payloads)
    else:
        async_to_sync(_send_all)(payloads)
    return len(payloads)


_redis_clients: dict[str, redis.Redis] = {}


def _client(address: str) -> redis.Redis:
    """One Redis client per address, kept for the process."""
    client = _redis_clients.get(address)
    if client is None:
        client = _redis_clients[address] = redis.Redis.from_url(address)
    return client


def _publish_pipelined(layer, address: str, payloads: dict[int, dict]) -> None:
    """What `group_send` does on the pub/sub layer (a PUBLISH of the serialized message to
    the group's channel), for every household in one pipeline: one round trip for
    thousands of households instead of one each. Tied to channels-redis 4.3's naming
    (pinned in requirements.txt); tests/test_tasks.py checks a consumer still receives it.
    """
    client = _client(address)
    prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "asgi")
    try:
        with client.pipeline(transaction=False) as pipe:
            for household_id, payload in payloads.items():
                message = {"type": "balance.update", "payload": payload}
                pipe.publish(
                    f"{prefix}__group__{household_group(household_id)}", layer.serialize(message)
                )
            pipe.execute()
    except redis.RedisError as error:
        # Live updates are best effort: the next run sends the state again.
        log.warning("household updates not sent: %s", error)


async def _send_all(payloads: dict[int, dict]) -> None:
    layer = get_channel_layer()
    results = await asyncio.gather(
        *(
            layer.group_send(
                household_group(household_id), {"type": "balance.update", "payload": payload}
            )
            for household_id, payload in payloads.items()
        ),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        # Live updates are best effort: the next run sends the state again.
        log.warning("%d of %d household updates failed: %s", len(failed), len(results), failed[0])
