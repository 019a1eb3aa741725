"""What a household sees: the dashboard's first render and `GET /api/me/summary` both call this.

The live part (balance, rate per second, devices, and what the page ticks on
from) is the household's quote (payouts.quotes), the same the accrual run
broadcasts, so the page starts from the first render the way it goes on from
a quote. The balance is exact at `at`: what the ledger holds plus what the
household's outages are owed beyond it (up to a checkpoint's worth, a minute,
until the accrual posts it).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from devices.models import Device, Outage, OutageStatus
from payouts.accrual import current_policies, facts_for
from payouts.evidence import unpaid_stretches
from payouts.models import AccrualState, EntryKind, LedgerEntry, Payout
from payouts.quotes import quote
from policy.compensation import MONTH_ZONE, month_start, outages_owed, value_per_second

# What counts as compensation (payouts move money out of the balance, not into it).
COMPENSATION = [EntryKind.ACCRUAL, EntryKind.ADJUSTMENT]
DAYS = 30  # the chart's span
OUTAGES_SHOWN = 50


def _money(amount: Decimal) -> str:
    return f"{amount:.6f}"


def _plain(number: Decimal) -> str:
    """5.0000 -> "5", 0.2500 -> "0.25" (no exponent)."""
    return f"{number.normalize():f}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def day_start(moment: datetime) -> datetime:
    """Midnight (India Standard Time) of the day `moment` is in."""
    local = moment.astimezone(MONTH_ZONE)
    return datetime.combine(local.date(), time(), tzinfo=MONTH_ZONE)


def household_summary(household, now: datetime | None = None) -> dict:
    """Everything the dashboard shows, as JSON-ready values (amounts as 6-place strings)."""
    now = now or timezone.now()
    terms = current_policies().at(now)
    live = quote(household.pk, now)  # the balance, the devices, and what the page ticks from
    owed = {o["id"]: Decimal(o["owed"]) for o in live["money"]["outages"]}
    unposted = Decimal(live["balance"]) - Decimal(live["money"]["ledger"])

    today, month = day_start(now), month_start(now)
    entries = LedgerEntry.objects.filter(household=household).order_by()
    earned = entries.filter(kind__in=COMPENSATION)
    first_day = today - timedelta(days=DAYS - 1)
    by_day = dict(
        earned.filter(created_at__gte=first_day)
        .annotate(day=TruncDate("created_at", tzinfo=MONTH_ZONE))
        .values("day")
        .annotate(total=Sum("amount"))
        .values_list("day", "total")
    )
    # What is owed beyond the ledger is today's (at most a checkpoint, a minute, old).
    by_day[today.date()] = by_day.get(today.date(), Decimal(0)) + unposted
    daily = [
        {"date": day.isoformat(), "amount": _money(by_day.get(day, Decimal(0)))}
        for day in ((first_day + timedelta(days=n)).date() for n in range(DAYS))
    ]
    month_total = (earned.filter(created_at__gte=month).aggregate(t=Sum("amount"))["t"] or 0) + (
        unposted
    )

    return {
        **live,
        "at": now.isoformat(),
        "today": _money(by_day[today.date()]),
        "month": _money(month_total),
        "policy": _policy(terms),
        "device_values": _device_values(household),
        "outages": _outages(household, owed, now),
        "timeline": _timeline(household, today, now),
        "daily": daily,
        "payouts": [
            {
                "id": p.pk,
                "amount": f"{p.amount:.2f}",
                "state": p.state,
                "state_label": p.get_state_display(),
                "created_at": _iso(p.created_at),
                "decided_at": _iso(p.decided_at),
                "paid_at": _iso(p.paid_at),
                "reference": p.reference,
                "reason": p.reason,
                "rejection": p.rejection,  # "return" (paid next time), "refuse" (for good)
            }
            for p in Payout.objects.filter(household=household).order_by("-created_at")[:50]
        ],
    }


def _policy(terms) -> dict:
    return {
        "kind": terms.kind,
        "grace_seconds": terms.grace_seconds,
        "multiplier": _plain(terms.multiplier),
        "escalation": _plain(terms.escalation),
        "escalation_percent": _plain(terms.escalation * 100),
        "tiers": [[str(hour), str(per_hour)] for hour, per_hour in terms.tiers],
        "cap_per_outage": f"{terms.cap_per_outage:.2f}",
        "cap_per_month": f"{terms.cap_per_month:.2f}",
        "effective_from": terms.effective_from.isoformat(),
    }


def _device_values(household) -> list[dict]:
    """Each live device's own figures: what a second of its supply is worth."""
    rows = (
        Device.objects.filter(household=household, revoked_at__isnull=True)
        .select_related("area")
        .order_by("name")
    )
    return [
        {
            "id": d.pk,
            "name": d.name,
            "area": d.area.code,
            "monthly_units": f"{d.monthly_units:g}",
            "tariff": f"{d.tariff:.2f}",
            "value_per_second": _money(value_per_second(d.monthly_units, d.tariff)),
        }
        for d in rows
    ]


def _outages(household, owed: dict[int, Decimal], now: datetime) -> list[dict]:
    """The latest outages with their evidence and what each is owed (or has been paid)."""
    rows = list(
        Outage.objects.filter(device__household=household)
        .select_related("device")
        .order_by("-started_at")[:OUTAGES_SHOWN]
    )
    posted = dict(
        AccrualState.objects.filter(outage__in=[o.pk for o in rows]).values_list(
            "outage_id", "posted"
        )
    )
    facts = facts_for(Q(pk__in=[o.pk for o in rows]))
    policies = current_policies()
    return [
        {
            "id": o.pk,
            "device": o.device.name,
            "status": o.status,
            "started_at": _iso(o.started_at),
            "ended_at": _iso(o.ended_at),
            "witnessed_seconds": f"{o.witnessed_seconds:.6f}",
            "gaps": o.gaps,
            "max_gap_seconds": f"{o.max_gap_seconds:.3f}",
            "ticks_received": o.ticks_received,
            "first_tick_at": _iso(o.started_at),
            "last_tick_at": _iso(o.last_tick_at),
            "amount": _money(owed.get(o.pk, posted.get(o.pk, Decimal(0)))),
            # Which announced windows (planned cuts, exemptions) left time unpaid, and why.
            "unpaid": [
                {
                    "window": u["cut"].get_kind_display() if u["cut"] else "",
                    "reason": u["cut"].reason if u["cut"] else "",
                    "rule": u["rule"],
                    "policy": u["policy"],
                    "seconds": u["seconds"],
                }
                for u in unpaid_stretches(facts.get(o.pk), policies)
            ],
        }
        for o in rows
    ]


def _timeline(household, today: datetime, now: datetime) -> list[dict]:
    """Today's witnessed time per outage, as [from, to] in seconds since midnight (IST)."""
    outages = (
        Outage.objects.filter(device__household=household)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=today))
        .filter(started_at__lt=now)
        .select_related("device")
        .prefetch_related("witnessed_intervals")
    )
    spans = []
    for outage in outages:
        for start, end in outage.intervals():
            start, end = max(start, today), min(end, now)
            if end > start:
                spans.append(
                    {
                        "outage": outage.pk,
                        "device": outage.device.name,
                        "from": round((start - today).total_seconds()),
                        "to": round((end - today).total_seconds()),
                        "ongoing": outage.status == OutageStatus.ONGOING,
                    }
                )
    return sorted(spans, key=lambda s: s["from"])


SHAPE_SAMPLES = 60


def outage_shape(household, outage_id: int, now: datetime | None = None) -> dict | None:
    """One of the household's outages drawn to its own scale: when its device witnessed the
    cut, the silences between, and how its amount grew. None if it is not the household's."""
    now = now or timezone.now()
    outage = (
        Outage.objects.filter(pk=outage_id, device__household=household)
        .select_related("device")
        .first()
    )
    if outage is None:
        return None
    policies = current_policies()
    facts = facts_for(Q(pk=outage.pk))[outage.pk]
    start = outage.started_at
    end = outage.ended_at or outage.last_tick_at
    length = max((end - start).total_seconds(), 1.0)

    def percent(moment: datetime) -> float:
        return round(min(max((moment - start).total_seconds() / length, 0.0), 1.0) * 100, 3)

    witnessed, cursor, silences = [], start, []
    for a, b in facts.intervals:
        if a > cursor:
            silences.append((cursor, a))
        witnessed.append((a, b))
        cursor = max(cursor, b)
    if end > cursor and outage.status != OutageStatus.ONGOING:
        silences.append((cursor, end))
    samples = [start + (end - start) * n / SHAPE_SAMPLES for n in range(SHAPE_SAMPLES + 1)]
    grown = [outages_owed([facts], policies, moment)[outage.pk] for moment in samples]
    top = max(grown[-1], Decimal("0.000001"))
    posted = AccrualState.objects.filter(outage=outage).values_list(
        "posted", flat=True
    ).first() or Decimal(0)
    return {
        "outage": outage,
        "start": start,
        "end": end,
        "length_seconds": int(length),
        "witnessed": [
            {"left": percent(a), "width": max(percent(b) - percent(a), 0.3), "from": a, "to": b}
            for a, b in witnessed
        ],
        "silences": [
            {"left": percent(a), "width": percent(b) - percent(a), "from": a, "to": b}
            for a, b in silences
        ],
        "curve": " ".join(
            f"{percent(moment)},{round(100 - float(amount / top) * 100, 3)}"
            for moment, amount in zip(samples, grown, strict=True)
        ),
        "owed": _money(grown[-1]),
        "posted": _money(posted),
        "midway": samples[SHAPE_SAMPLES // 2],
        "unpaid": unpaid_stretches(facts, policies),
    }
