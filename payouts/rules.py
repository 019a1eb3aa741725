"""The evidence rules of the policy in force (max_gap, silence timeout), for the device path.

Read at most every few seconds per process: a flush happens five times a
second and must not query the policy each time.
"""

import time
from datetime import timedelta

from django.utils import timezone

from payouts.models import Policy

CACHE_SECONDS = 5.0
_cache: dict = {"until": 0.0, "rules": None}

DEFAULT = (timedelta(seconds=120), timedelta(seconds=300))


def outage_rules() -> tuple[timedelta, timedelta]:
    """(max_gap, silence_timeout) of the policy in force now."""
    now = time.monotonic()
    if _cache["rules"] is None or now >= _cache["until"]:
        row = (
            Policy.objects.filter(effective_from__lte=timezone.now())
            .values_list("max_gap_seconds", "silence_timeout_seconds")
            .first()
        )
        _cache["rules"] = (timedelta(seconds=row[0]), timedelta(seconds=row[1])) if row else DEFAULT
        _cache["until"] = now + CACHE_SECONDS
    return _cache["rules"]


def forget() -> None:
    _cache["rules"] = None
