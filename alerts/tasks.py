from celery import shared_task
from django.utils import timezone

from alerts import delivery, scan


# On its own worker (settings.CELERY_TASK_ROUTES); bounded all the same: past the soft
# limit a delivery under way fails and is retried, past the hard one the process is replaced.
@shared_task(soft_time_limit=60, time_limit=90)
def scan_and_send() -> dict:
    """Beat runs this every 15 s: record what happened since, then send what is due.
    Runs overlapping (a slow mail server) are safe: events and deliveries are unique,
    and each delivery is claimed before it is sent."""
    found = scan.scan(timezone.now())
    sent = delivery.send_due(timezone.now())
    return {
        "events": found.events,
        "deliveries": found.deliveries,
        "sent": sent.sent,
        "failed": sent.failed,
        "held": sent.held,
        "skipped": sent.skipped,
    }
