"""Quiet hours: a household's stretch of the day (India time) when nothing is sent.

Pure: plain times in, the moment the quiet ends out. A stretch whose start is after its
end crosses midnight (22:00 to 07:00).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

INDIA = ZoneInfo("Asia/Kolkata")


def quiet_until(now: datetime, start: time, end: time, zone=INDIA) -> datetime | None:
    """When the quiet hours that hold `now` end, or None when `now` is outside them.

    The start is inside, the end outside: 22:00 to 07:00 holds 22:00 and 06:59:59 but
    not 07:00. A stretch starting and ending at the same time is no stretch at all.
    """
    if start == end:
        return None
    local = now.astimezone(zone)
    moment = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        if not start <= moment < end:
            return None
        ends_on = today
    else:
        if end <= moment < start:
            return None
        ends_on = today if moment < end else today + timedelta(days=1)
    return datetime.combine(ends_on, end, tzinfo=zone)
