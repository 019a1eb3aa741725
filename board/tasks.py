from celery import shared_task
from django.utils import timezone

from board import live


@shared_task
def board_update() -> int | None:
    """Beat runs this every CELC_BOARD_LIVE_SECONDS: open board pages see the areas out now.

    Working the figures out grows with the ongoing outages (docs/performance.md, *The
    board*), so it is done only while a board page is open (None otherwise).
    """
    if not live.watched_now():
        return None
    payload = live.live_payload(timezone.now())
    live.send_update(payload)
    return len(payload["areas"])
