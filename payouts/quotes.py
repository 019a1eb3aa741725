"""A household's live state at a moment T, in one place: its quote.

The dashboard's first render, `GET /api/me/summary`, what beat broadcasts and
the board's "out now" are all built here. A quote is exact at T (the balance
is what the ledger holds plus what the household's outages are owed beyond it)
and carries what the page needs to go on by itself with the same closed form
(static/js/compensation.js, a port of policy/compensation.py): the policy
versions, the facts of the household's outages of the months concerned (for the
monthly cap), what the ledger holds of each, and until when the quote covers an
ongoing outage. Between quotes the page hears events from the web process that
stores the ticks (devices.live): a cut started, the power back, a device
silent (paused), which keep those facts current.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from devices.models import Device, Outage, OutageStatus, connection_state
from payouts.accrual import _unpaid_at, current_policies, facts_for
from payouts.models import AccrualState, HouseholdBalance, refused_outage_ids
from policy.compensation import (
    OutageFacts,
    Policies,
    facts_to_json,
    household_owed,
    month_start,
    still_growing,
    terms_to_json,
)

# How long past T a quote lets the page count an ongoing outage on by itself: longer
# than the quotes' refresh (payouts.accrual.QUOTE_EVERY, 30 s) so that a page between
# two quotes never stops; a device falling silent stops it sooner (a `paused` event).
COVER = timedelta(seconds=45)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def extended(facts: OutageFacts, last_tick_at: datetime, until: datetime) -> OutageFacts:
    """An ongoing outage as it will be witnessed up to `until` if its device keeps ticking:
    the interval growing from its last tick runs on (what the page does between ticks)."""
    if until <= last_tick_at:
        return facts
    intervals = list(facts.intervals)
    if intervals and intervals[-1][1] == last_tick_at:
        intervals[-1] = (intervals[-1][0], until)
    else:
        intervals.append((last_tick_at, until))
    return OutageFacts(
        facts.id,
        facts.household_id,
        facts.started_at,
        facts.value_per_second,
        tuple(intervals),
        updated_at=facts.updated_at,
        ongoing=facts.ongoing,
        windows=facts.windows,
        value_changes=facts.value_changes,
    )


def quotes(household_ids, now: datetime) -> dict[int, dict]:
    """Each household's quote at `now` (a few queries for all of them)."""
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    policies = current_policies()
    since = month_start(now) - timedelta(days=31)
    # Every outage that may be owed more than the ledger holds, and every one the
    # monthly cap depends on; refused claims are owed nothing more.
    facts = facts_for(
        Q(device__household_id__any=ids)
        & (Q(ended_at__isnull=True) | Q(ended_at__gte=since))
        & ~Q(pk__in=refused_outage_ids())
    )
    evidence = {
        pk: (status, last_tick, open_start)
        for pk, status, last_tick, open_start in Outage.objects.filter(
            pk__any=sorted(facts)
        ).values_list("pk", "status", "last_tick_at", "open_interval_start")
    }
    posted = dict(
        AccrualState.objects.filter(outage_id__any=sorted(facts)).values_list("outage_id", "posted")
    )
    ledger = dict(
        HouseholdBalance.objects.filter(household_id__any=ids).values_list("household_id", "amount")
    )
    by_household: dict[int, list[OutageFacts]] = defaultdict(list)
    for f in facts.values():
        by_household[f.household_id].append(f)
    owed: dict[int, Decimal] = {}
    stopped: set[int] = set()
    for household_id, own in by_household.items():
        mine = household_owed(own, policies, now).by_outage
        owed.update(mine)
        # Would one more second pay? Asked of the outages as their devices tick on (a cut
        # whose first tick just came has no witnessed interval yet, but it is growing).
        ticking = [extended(f, evidence[f.id][1], now) if f.ongoing else f for f in own]
        if not still_growing(ticking, policies, now):
            stopped.add(household_id)
    devices = _devices(ids, facts, owed, stopped, policies, now)
    terms = [terms_to_json(t) for t in policies.versions]
    out = {}
    for h in ids:
        own = by_household.get(h, [])
        held = ledger.get(h, Decimal(0))
        balance = held + sum((owed[f.id] - posted.get(f.id, Decimal(0)) for f in own), Decimal(0))
        rate = sum(
            (Decimal(d["outage"]["rate_per_second"]) for d in devices[h] if d["outage"]),
            Decimal(0),
        )
        out[h] = {
            "type": "quote",
            "at": now.isoformat(),
            "balance": f"{balance:.6f}",
            "rate_per_second": f"{rate:.6f}",
            "devices": devices[h],
            "money": {
                "ledger": f"{held:.6f}",
                "policies": terms,
                "outages": [
                    {
                        **facts_to_json(f),
                        "status": evidence[f.id][0],
                        "last_tick_at": _iso(evidence[f.id][1]),
                        "open_interval_start": _iso(evidence[f.id][2]),
                        "posted": f"{posted.get(f.id, Decimal(0)):.6f}",
                        "owed": f"{owed[f.id]:.6f}",  # at T, both caps applied
                    }
                    for f in sorted(own, key=lambda f: f.started_at)
                ],
                "cover_until": (now + COVER).isoformat(),
            },
        }
    return out


def quote(household_id: int, now: datetime) -> dict:
    return quotes([household_id], now)[household_id]


def rate_now(
    facts: OutageFacts, owed: Decimal, stopped: bool, policies: Policies, now: datetime
) -> Decimal:
    """Rupees a second an ongoing outage pays now: nothing once a cap stopped it (its own,
    or its household's month: `stopped`), or inside an announced window that does not pay."""
    terms = policies.at(now)
    if stopped or owed >= terms.cap_per_outage or _unpaid_at(facts, policies, now):
        return Decimal(0)
    return terms.rate(facts.value_at(now), facts.witnessed_before(now))


def _devices(
    ids: list[int],
    facts: dict[int, OutageFacts],
    owed: dict[int, Decimal],
    stopped: set[int],
    policies: Policies,
    now: datetime,
) -> dict[int, list[dict]]:
    """Each household's devices as its page shows them: state, and the ongoing outage with
    what it is owed, what it pays a second now and how far it has escalated."""
    terms = policies.at(now)
    devices: dict[int, list[dict]] = defaultdict(list)
    rows = Device.objects.filter(household_id__any=ids).values_list(
        "pk",
        "household_id",
        "name",
        "revoked_at",
        "power_state",
        "last_seen_at",
        "current_outage_id",
        "current_outage__status",
        "current_outage__started_at",
        "current_outage__witnessed_seconds",
        "current_outage__last_tick_at",
    )
    for (
        pk,
        household_id,
        name,
        revoked_at,
        power,
        seen,
        outage_id,
        status,
        started,
        witnessed,
        last_tick,
    ) in rows:
        entry = {
            "id": pk,
            "name": name,
            "state": "revoked" if revoked_at else connection_state(power, seen, now),
            "last_seen_at": _iso(seen),
            "outage": None,
        }
        if outage_id is not None:
            f = facts.get(outage_id)
            amount = owed.get(outage_id, Decimal(0))
            rate = Decimal(0)
            growth = None  # how many times the starting rate it pays now (compounding)
            if f is not None and status == OutageStatus.ONGOING:
                rate = rate_now(f, amount, household_id in stopped, policies, now)
                if rate and terms.kind == "compounding":
                    value = f.value_at(now)
                    growth = f"{rate / (value * terms.multiplier):.4f}"
            entry["outage"] = {
                "id": outage_id,
                "status": status,
                "started_at": _iso(started),
                # The device's clock on the newest tick counted: what this state reflects.
                "last_tick_at": _iso(last_tick),
                "witnessed_seconds": f"{witnessed:.6f}",
                "owed": f"{amount:.6f}",
                "rate_per_second": f"{rate:.6f}",
                "escalation": growth,
            }
        devices[household_id].append(entry)
    return devices
