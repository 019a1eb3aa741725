from celery import shared_task
from django.utils import timezone

from common.live import household_group, publish, watched
from common.metrics import ACCRUAL_RUN_SECONDS
from payouts import accrual, creation, quotes


def watched_households(household_ids: set[int]) -> set[int]:
    """The households with a page open now, in some web process."""
    looking = watched(household_group(h) for h in household_ids)
    return {h for h in household_ids if household_group(h) in looking}


@shared_task
def accrue_and_broadcast(shard: int = 0, shards: int = 1) -> dict:
    """Beat runs this every second (per shard): post what is due (checkpoints, events),
    then send fresh quotes to the households with a page open whose outages it handled."""
    with ACCRUAL_RUN_SECONDS.time():
        result = accrual.accrue(shard=shard, shards=shards, watched=watched_households)
    looking = watched_households(result.households)
    payloads = quotes.quotes(looking, timezone.now())
    sent = publish(
        (household_group(h), {"type": "balance.quote", "payload": payload})
        for h, payload in payloads.items()
    )
    return {"outages": result.outages, "posted": len(result.posted), "quotes": sent}


@shared_task
def create_payouts() -> dict:
    """Beat runs this daily: every balance of at least the minimum becomes a payout for review."""
    created = creation.create_payouts()
    return {"payouts": len(created), "amount": str(sum((p.amount for p in created), 0))}


@shared_task(name="payouts.tasks.make_payouts")
def make_payouts() -> dict:
    """The daily task's name before 2026-11-30: a beat or worker of the previous release,
    during a rolling update, still sends or runs it, and that day's payouts are not lost."""
    return create_payouts()
