from celery import shared_task
from django.utils import timezone

from accounts.broadcast import send_heartbeat


@shared_task
def live_heartbeat() -> None:
    """Beat runs this every CELC_LIVE_HEARTBEAT_SECONDS: dashboards know they are live."""
    send_heartbeat(timezone.now().isoformat())
