from celery import shared_task
from django.utils import timezone

from accounts.broadcast import board_watched, send_board_update, send_household_updates
from payouts import accrual, board, payments


@shared_task
def accrue_and_broadcast(shard: int = 0, shards: int = 1) -> dict:
    """Beat runs this every second (per shard): post what is owed, then tell who changed."""
    result = accrual.accrue(shard=shard, shards=shards)
    payloads = accrual.device_states(
        result.households, result, accrual.current_policies(), timezone.now()
    )
    sent = send_household_updates(payloads)
    return {"outages": result.outages, "posted": len(result.posted), "broadcasts": sent}


@shared_task
def make_payouts() -> dict:
    """Beat runs this daily: every balance of at least the minimum becomes a payout for review."""
    created = payments.create_payouts()
    return {"payouts": len(created), "amount": str(sum((p.amount for p in created), 0))}


@shared_task
def board_update() -> int | None:
    """Beat runs this every CELC_BOARD_LIVE_SECONDS: open board pages see the areas out now.

    Working the figures out costs about a second per 3,000 ongoing outages, so
    it is done only while a board page is open (None otherwise).
    """
    if not board_watched():
        return None
    payload = board.live_payload(timezone.now())
    send_board_update(payload)
    return len(payload["areas"])
