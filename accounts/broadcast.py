"""The one module that talks to the channel layer about households.

Everything that wants a household's dashboard to change calls a function
here; consumers only forward what arrives. Event types are prefixed
(`balance.update`) so that a consumer method handles exactly one kind.
"""

import logging

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from common.live import LIVE_GROUP, account_group, household_group, publish
from common.metrics import BROADCAST_FAILURES, BROADCASTS

log = logging.getLogger(__name__)


def send_heartbeat(at: str) -> None:
    """One `live.heartbeat` to every open dashboard (one PUBLISH whatever their number)."""
    try:
        async_to_sync(get_channel_layer().group_send)(
            LIVE_GROUP, {"type": "live.heartbeat", "at": at}
        )
    except (redis.RedisError, OSError) as error:
        BROADCAST_FAILURES.inc()
        log.warning("heartbeat not sent: %s", error)
    else:
        BROADCASTS.labels("live.heartbeat").inc()


def send_signed_out(user_id: int, session_key: str | None) -> None:
    """That session's open dashboards and board pages close (it signed out)."""
    _send_to_account(user_id, {"type": "account.signed_out", "session": session_key})


def send_password_changed(user_id: int, keep: set[str | None]) -> None:
    """Every open dashboard and board page of the user closes but those of the sessions in
    `keep` (the one that changed the password, under its old and its new key)."""
    _send_to_account(
        user_id, {"type": "account.password_changed", "keep": sorted(k for k in keep if k)}
    )


def _send_to_account(user_id: int, message: dict) -> None:
    # Dashboards hear it in their household's group, board pages in the account's: one
    # pipeline. Signing out or changing the password must work with Redis down (publish
    # logs it); the sockets then stay open until they reconnect, and a reconnection is
    # refused.
    publish([(household_group(user_id), message), (account_group(user_id), message)])


def send_household_updates(payloads: dict[int, dict]) -> int:
    """One `balance.update` per household, in one pipeline. Returns how many were sent."""
    return publish(
        (household_group(h), {"type": "balance.update", "payload": payload})
        for h, payload in payloads.items()
    )
