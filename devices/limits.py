"""A device's limits over all its connections on every web process, kept in Redis.

Keyed by the device's token (its hash): a device has one at a time, and a
new token starts afresh.

- Rate: more than `RATE_PER_SECOND` frames a second sustained (bursts up to
  `RATE_BURST`) from one device, counted over its WebSocket connections and
  HTTP requests together, is `rate_limited`. One token bucket per device
  lives in Redis (a Lua script refills and charges it with Redis's clock).
  The WebSocket hot path never waits for Redis: each web process keeps one
  bucket per device for all that device's connections on it (`bucket`),
  which judges each frame at once, counts every frame, and charges the
  counts to Redis once a second in one pipeline (`SharedLimits.settle`). A
  device's frames on a process are carried until there are
  `CHARGE_AFTER_FRAMES` of them (or its last connection there has gone):
  every frame reaches the device's bucket in Redis, at most that many late
  per process, and an honest device ticking once a second costs a Lua call
  every 10 seconds, not every second. A
  process's bucket starts from the device's level in Redis, read at its
  first connection there, debt included: a new connection, or thirty opened
  at once, inherits what the device owes instead of a fresh burst. A device
  found over the limit owes what it sent past it (up to `DEBT_SECONDS` of
  its rate, not a mere burst) and is marked limited until that is paid back:
  every process closes its connections at the next settle and refuses new
  ones at connect. An HTTP request charges its one frame as it comes (it
  costs a database transaction anyway).
- Connections: at most `MAX_CONNECTIONS` per device. Each connection takes
  the next number of its device's counter at connect (INCR); the process
  it reaches closes at once those of its own that are `MAX_CONNECTIONS` or
  more behind the newest (the new one too, when newer ones got in first);
  other processes close theirs at their next settle.

Redis is a guard here, not a dependency: when it cannot be reached, each
process's bucket per device still limits the rate, each process keeps at
most `MAX_CONNECTIONS` of a device's connections, the cap over processes
waits, and ticks are stored and acknowledged as ever. After a failure Redis
is left alone for `RETRY_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Protocol

import redis
import redis.asyncio
from django.conf import settings

from devices.protocol import TokenBucket

log = logging.getLogger(__name__)

RATE_PER_SECOND = 20
RATE_BURST = 40
MAX_CONNECTIONS = 3
# The most a device can owe, in seconds of its rate: a device that sent thirty bursts at once
# waits for all of them, not for one (but not for ever).
DEBT_SECONDS = 600
RETRY_SECONDS = 5.0
TIMEOUT_SECONDS = 1.0

# KEYS: the device's bucket, its limited flag. ARGV: rate, burst, frames, most debt.
# Returns 1 when the frames took the bucket below empty (and marks the device
# limited until it has paid that back), else 0.
CHARGE = """
local rate, burst, frames = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
level = math.min(burst, level + math.max(0, now - at) * rate) - frames
level = math.max(level, -tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
-- Kept until full again (a missing bucket is a full one), and a minute more.
redis.call('EXPIRE', KEYS[1], 60 + math.ceil((burst - level) / rate))
if level < 0 then
    redis.call('SET', KEYS[2], '1', 'PX', math.max(1000, math.ceil(-level / rate * 1000)))
    return 1
end
return 0
"""

# KEYS: the device's bucket. ARGV: rate, burst. Its level now (a string: Lua numbers
# reach Redis as integers), charging nothing.
PEEK = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
return tostring(math.min(burst, level + math.max(0, now - at) * rate))
"""
MOST_DEBT = RATE_PER_SECOND * DEBT_SECONDS
# A device's frames on a process are charged in Redis once this many have come (a
# burst's quarter: all of a device's processes together hold back less than its burst).
CHARGE_AFTER_FRAMES = 10


class Connection(Protocol):
    token_hash: str
    generation: int | None


def _key(token_hash: str, what: str) -> str:
    return f"{settings.CHANNEL_PREFIX}:device:{token_hash}:{what}"


def bucket_keys(token_hash: str) -> list[str]:
    return [_key(token_hash, "bucket"), _key(token_hash, "limited")]


def connections_key(token_hash: str) -> str:
    return _key(token_hash, "connections")


class _Breaker:
    """Leaves Redis alone for a while after it failed, and says so once each time."""

    def __init__(self):
        self.closed_until = 0.0

    def open(self) -> bool:
        return time.monotonic() >= self.closed_until

    def failed(self, what: str, error: Exception) -> None:
        self.closed_until = time.monotonic() + RETRY_SECONDS
        log.warning("device limits: %s without Redis (%s); local limits only", what, error)


class SharedLimits:
    """One web process's side of the shared limits, for its event loop (the device hub's)."""

    def __init__(self, redis_url: str):
        self.client = redis.asyncio.Redis.from_url(
            redis_url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self.charge = self.client.register_script(CHARGE)
        self.peek = self.client.register_script(PEEK)
        self.frames: dict[str, int] = {}
        # Each device's bucket on this process, shared by all its connections here.
        self.buckets: dict[str, TokenBucket] = {}
        self.breaker = _Breaker()

    def count(self, token_hash: str) -> None:
        """One frame from the device (settled with Redis later)."""
        self.frames[token_hash] = self.frames.get(token_hash, 0) + 1

    def bucket(self, token_hash: str, level: float | None = None) -> TokenBucket:
        """The device's bucket on this process: the one its other connections here use, else a
        new one at `level` (the device's in Redis: what it owes), or full without Redis."""
        found = self.buckets.get(token_hash)
        if found is None:
            found = self.buckets[token_hash] = TokenBucket(
                RATE_PER_SECOND, RATE_BURST, time.monotonic(), level=level
            )
        return found

    def forget_idle(self, connected: set[str]) -> None:
        """Drop the buckets of devices with no connection here, once they are full again (a
        device back within the second would otherwise find a fresh burst)."""
        now = time.monotonic()
        for token_hash, bucket in list(self.buckets.items()):
            if token_hash not in connected and token_hash not in self.frames and bucket.full(now):
                del self.buckets[token_hash]

    async def connected(self, token_hash: str) -> tuple[int | None, bool, float | None]:
        """(this connection's number, whether the device is limited now, its bucket's level
        in Redis); (None, False, None) without Redis: the connection is numbered at a later
        settle, and a process's bucket starts full."""
        if not self.breaker.open():
            return None, False, None
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.incr(connections_key(token_hash))
                pipe.exists(bucket_keys(token_hash)[1])
                await self.peek(
                    keys=bucket_keys(token_hash)[:1],
                    args=[RATE_PER_SECOND, RATE_BURST],
                    client=pipe,
                )
                number, limited, level = await pipe.execute()
        except (redis.RedisError, OSError) as error:
            self.breaker.failed("connection not numbered", error)
            return None, False, None
        return number, bool(limited), float(level)

    async def settle(self, connections: Iterable[Connection]) -> tuple[set[str], list[Connection]]:
        """Charge the frames counted since the last settle and number new connections.

        `connections` are this process's, each device's oldest first. Returns
        the devices (token hashes) over the rate limit, whose connections are to
        close with 4429, and the connections replaced by newer ones (4409).
        """
        devices: dict[str, list[Connection]] = {}
        for connection in connections:  # as they are now: they come and go while Redis answers
            devices.setdefault(connection.token_hash, []).append(connection)
        if not self.breaker.open():
            self.frames = {}  # not owed later: without Redis, each process's bucket judged them
            return set(), []
        if not (self.frames or devices):
            return set(), []
        # Charged now: devices with enough frames carried, and those gone from here. The rest
        # are carried to a later settle (frames counted meanwhile add to them).
        frames = {
            token_hash: count
            for token_hash, count in self.frames.items()
            if count >= CHARGE_AFTER_FRAMES or token_hash not in devices
        }
        for token_hash in frames:
            del self.frames[token_hash]
        charged = list(frames)
        unnumbered = {
            token_hash: [c for c in each if c.generation is None]
            for token_hash, each in devices.items()
        }
        numbering = [token_hash for token_hash, each in unnumbered.items() if each]
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for token_hash in charged:
                    await self.charge(
                        keys=bucket_keys(token_hash),
                        args=[RATE_PER_SECOND, RATE_BURST, frames[token_hash], MOST_DEBT],
                        client=pipe,
                    )
                for token_hash in numbering:
                    pipe.incrby(connections_key(token_hash), len(unnumbered[token_hash]))
                if devices:  # one command however many devices: their counters and flags
                    pipe.mget(
                        [connections_key(token_hash) for token_hash in devices]
                        + [bucket_keys(token_hash)[1] for token_hash in devices]
                    )
                results = await pipe.execute()
        except (redis.RedisError, OSError) as error:
            self.breaker.failed("frames not counted", error)
            return set(), []
        hits = zip(charged, results[: len(charged)], strict=True)
        over = {token_hash for token_hash, hit in hits if hit}
        if not devices:
            return over, []
        numbers = results[len(charged) : len(charged) + len(numbering)]
        numbered = dict(zip(numbering, numbers, strict=True))
        counters, flags = results[-1][: len(devices)], results[-1][len(devices) :]
        replaced = []
        for (token_hash, each), counter, limited in zip(
            devices.items(), counters, flags, strict=True
        ):
            if limited is not None:
                over.add(token_hash)
            # A connection numbered here has the number INCRBY gave it, whatever came since.
            newest = numbered.get(token_hash, int(counter or 0))
            replaced += _replaced(each, unnumbered[token_hash], int(newest))
        return over, replaced

    async def aclose(self) -> None:
        await self.client.aclose()


def _replaced(
    connections: list[Connection], unnumbered: list[Connection], newest: int
) -> list[Connection]:
    """Number the unnumbered (the newest, oldest first), then those `MAX_CONNECTIONS` behind."""
    for offset, connection in enumerate(reversed(unnumbered)):
        connection.generation = newest - offset
    if any(c.generation > newest for c in connections):
        # Redis lost the counter (a restart without its data): number them all afresh.
        for connection in connections:
            connection.generation = None
        return []
    return [c for c in connections if c.generation <= newest - MAX_CONNECTIONS]


_clients: dict[str, tuple[redis.Redis, object]] = {}
_http_breaker = _Breaker()


def charge_request(token_hash: str) -> bool:
    """Charge one HTTP request to the device's bucket; True when that is over the limit
    (False without Redis: the caller's own bucket still applies)."""
    if not _http_breaker.open():
        return False
    url = settings.REDIS_URL
    if url not in _clients:
        client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        _clients[url] = client, client.register_script(CHARGE)
    _, charge = _clients[url]
    try:
        return bool(
            charge(keys=bucket_keys(token_hash), args=[RATE_PER_SECOND, RATE_BURST, 1, MOST_DEBT])
        )
    except (redis.RedisError, OSError) as error:
        _http_breaker.failed("request not counted", error)
        return False
