"""The one module that talks to the channel layer about households.

Everything that wants a household's dashboard to change calls a function
here; consumers only forward what arrives. Event types are prefixed
(`balance.update`) so that a consumer method handles exactly one kind.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def household_group(household_id: int) -> str:
    return f"household.{household_id}"


def send_household_updates(payloads: dict[int, dict]) -> int:
    """One `balance.update` per household, all sent from one event loop. Returns how many."""
    if payloads:
        async_to_sync(_send_all)(payloads)
    return len(payloads)


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
