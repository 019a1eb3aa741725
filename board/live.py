"""The board's live feed: what its open pages hear, worked out only while one is open."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from board.selectors import areas_out
from common.live import BOARD_GROUP, watched
from common.metrics import BROADCAST_FAILURES, BROADCASTS

log = logging.getLogger(__name__)


def live_payload(now: datetime) -> dict:
    """What /board/'s "Out now" shows, JSON-ready: sent to open board pages as it changes."""
    out = areas_out(now)
    return {
        "type": "areas",
        "at": now.isoformat(),
        "paying_now": f"{sum((a['rate_per_second'] for a in out), Decimal(0)):.6f}",
        "areas": [
            {
                "code": a["code"],
                "name": a["name"],
                "off": a["off"],
                "devices": a["devices"],
                "since": a["since"].isoformat(),
                "rate_per_second": f"{a['rate_per_second']:.6f}",
            }
            for a in out
        ],
    }


def watched_now() -> bool:
    """Whether any web process has an open board page: the board group's channel has a
    subscriber (common.live.watched). When nobody watches, the figures are not worked out.
    """
    return bool(watched([BOARD_GROUP]))


def send_update(payload: dict) -> None:
    """The areas out now to every open board page (one PUBLISH whatever their number)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            BOARD_GROUP, {"type": "board.update", "payload": payload}
        )
    except (redis.RedisError, OSError) as error:
        BROADCAST_FAILURES.inc()
        log.warning("board update not sent: %s", error)
    else:
        BROADCASTS.labels("board.update").inc()
