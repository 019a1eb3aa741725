from celery import shared_task
from django.utils import timezone

from accounts.broadcast import send_household_updates
from payouts import accrual


@shared_task
def accrue_and_broadcast(shard: int = 0, shards: int = 1) -> dict:
    """Beat runs this every second (per shard): post what is owed, then tell who changed."""
    result = accrual.accrue(shard=shard, shards=shards)
    payloads = accrual.device_states(
        result.households, result, accrual.current_policies(), timezone.now()
    )
    sent = send_household_updates(payloads)
    return {"outages": result.outages, "posted": len(result.posted), "broadcasts": sent}
