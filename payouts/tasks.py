from celery import shared_task
from django.utils import timezone

from accounts.broadcast import send_household_updates
from payouts import accrual


@shared_task
def accrue_and_broadcast() -> dict:
    """Beat runs this every second: post what is owed, then tell the households that changed."""
    result = accrual.accrue()
    payloads = accrual.device_states(
        result.households, result, accrual.current_policies(), timezone.now()
    )
    sent = send_household_updates(payloads)
    return {"outages": result.outages, "posted": len(result.posted), "broadcasts": sent}
