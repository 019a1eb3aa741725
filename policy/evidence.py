"""The evidence rules of the policy versions (max_gap, silence timeout), for the device path.

Each version's rules apply from its start, as its money does (`Policy.terms`):
a silence between two ticks is judged by the max_gap of the version in force
when it began (its first tick), whenever the ticks arrive, so that a version
with a longer max_gap cannot turn a device's backfilled silences of the last
72 hours into witnessed time. A stored max_gap past the bound (at most
`MAX_GAP_LIMIT_SECONDS`, at most the version's silence timeout: the admin and
the model refuse more) counts as the bound.

Read at most every few seconds per process: a flush happens five times a
second and must not query the policy each time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.utils import timezone

from policy.models import MAX_GAP_LIMIT_SECONDS, Policy


class EvidenceRules(NamedTuple):
    """What makes ticks evidence, as a policy version says."""

    max_gap: timedelta  # a longer silence between two ticks is not witnessed time
    silence_timeout: timedelta  # a device in a cut silent this long has lost contact


CACHE_SECONDS = 5.0
BEGINNING = datetime.min.replace(tzinfo=UTC)
DEFAULT = EvidenceRules(max_gap=timedelta(seconds=120), silence_timeout=timedelta(seconds=300))

# (from, max_gap, silence timeout) of every version, by start; the first from the beginning.
Versions = tuple[tuple[datetime, timedelta, timedelta], ...]
_cache: dict = {"until": 0.0, "versions": None}


def _versions() -> Versions:
    now = time.monotonic()
    if _cache["versions"] is None or now >= _cache["until"]:
        rows = Policy.objects.order_by("effective_from", "pk").values_list(
            "effective_from", "created_at", "max_gap_seconds", "silence_timeout_seconds"
        )
        versions = sorted(
            (
                # The baseline applies before any other, as stored; a later version from
                # when it was both saved and in effect (as Policy.terms says).
                BEGINNING if n == 0 else max(effective_from, created_at),
                timedelta(seconds=min(max_gap, silence, MAX_GAP_LIMIT_SECONDS)),
                timedelta(seconds=silence),
            )
            for n, (effective_from, created_at, max_gap, silence) in enumerate(rows)
        )
        _cache["versions"] = tuple(versions) or ((BEGINNING, *DEFAULT),)
        _cache["until"] = now + CACHE_SECONDS
    return _cache["versions"]


def max_gap_changes() -> tuple[tuple[datetime, timedelta], ...]:
    """(from, max_gap) of every version, by start: the max_gap in force at each moment."""
    return tuple((start, max_gap) for start, max_gap, _ in _versions())


def evidence_rules() -> EvidenceRules:
    """The evidence rules of the policy version in force now."""
    now = timezone.now()
    in_force = [EvidenceRules(*rules) for start, *rules in _versions() if start <= now]
    return in_force[-1] if in_force else DEFAULT


def forget() -> None:
    _cache["versions"] = None
