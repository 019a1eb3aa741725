"""What the electricity board sees of its network: areas out now and what they cost,
compensation by area, payouts waiting, and each area's reliability indices.

Read-only; amounts are Decimal, shown with 6 places (rupees per second) or 2.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from devices import areas
from devices.models import Area, Outage, OutageStatus
from payouts.accrual import _owed, current_policies, facts_for
from payouts.models import EntryKind, LedgerEntry, Payout, PayoutState, refused_outage_ids
from payouts.quotes import rate_now
from policy.compensation import MONTH_ZONE, month_start

COMPENSATION = [EntryKind.ACCRUAL, EntryKind.ADJUSTMENT]
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")

log = logging.getLogger(__name__)


def paying_now(now: datetime) -> dict[str, Decimal]:
    """Rupees per second the board is paying right now, by area code (caps respected).

    Each ongoing outage's rate as its household's quote works it out (payouts.quotes
    `rate_now`), set-based as the accrual works (a household's whole month is read only
    when it may be at its monthly cap).
    """
    statuses: dict[int, str] = {}
    facts = facts_for(Q(status=OutageStatus.ONGOING) & ~Q(pk__in=refused_outage_ids()), statuses)
    if not facts:
        return {}
    policies = current_policies()
    owed, stopped = _owed(facts, policies, now, set(facts))
    area_of = dict(
        Outage.objects.filter(pk__any=sorted(statuses)).values_list("pk", "device__area__code")
    )
    rates: dict[str, Decimal] = defaultdict(Decimal)
    for outage_id, status in statuses.items():
        f = facts[outage_id]
        if status == OutageStatus.ONGOING:
            stop = f.household_id in stopped
            rates[area_of[outage_id]] += rate_now(f, owed[outage_id], stop, policies, now)
    return dict(rates)


def areas_out(now: datetime) -> list[dict]:
    """Areas with a device off now: how many of its devices, since when, Rs/s."""
    rates = paying_now(now)
    out = (
        Outage.objects.filter(status=OutageStatus.ONGOING)
        .values("device__area__code", "device__area__name")
        .annotate(off=Count("device", distinct=True), since=Min("started_at"))
        .order_by("since")
    )
    devices = areas.devices_per_area()
    return [
        {
            "code": row["device__area__code"],
            "name": row["device__area__name"],
            "off": row["off"],
            "devices": devices.get(row["device__area__code"], row["off"]),
            "since": row["since"],
            "rate_per_second": rates.get(row["device__area__code"], Decimal(0)).quantize(MICRO),
        }
        for row in out
    ]


def compensation_by_area(now: datetime) -> list[dict]:
    """Compensation posted today and this month (India time), by area, largest first."""
    today = timezone.localtime(now, MONTH_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    month = month_start(now)
    entries = LedgerEntry.objects.filter(kind__in=COMPENSATION, created_at__gte=month)

    def by_area(rows) -> dict[str, Decimal]:
        # SQLite sums decimals as floats: back to the cent.
        return {
            code: Decimal(str(total or 0)).quantize(CENT)
            for code, total in rows.values("outage__device__area__code")
            .annotate(total=Sum("amount"))
            .values_list("outage__device__area__code", "total")
        }

    month_totals = by_area(entries)
    today_totals = by_area(entries.filter(created_at__gte=today))
    names = dict(Area.objects.values_list("code", "name"))
    return sorted(
        (
            {
                "code": code,
                "name": names.get(code, code),
                "today": today_totals.get(code, Decimal("0.00")),
                "month": total,
            }
            for code, total in month_totals.items()
        ),
        key=lambda row: (-row["month"], row["code"]),
    )


def pending_payouts() -> dict[str, dict]:
    """Payouts waiting for a decision, and approved ones not yet paid: count and amount."""
    out = {}
    for state in (PayoutState.AWAITING, PayoutState.APPROVED):
        found = Payout.objects.filter(state=state).aggregate(n=Count("pk"), total=Sum("amount"))
        out[state] = {
            "label": state.label,
            "count": found["n"],
            "amount": Decimal(str(found["total"] or 0)).quantize(CENT),
        }
    return out


def indices_csv_rows(month: date, now: datetime | None = None) -> list[list[str]]:
    rows = [
        [
            "month",
            "area_code",
            "area_name",
            "households_with_devices",
            "sustained_interruptions",
            "momentary_interruptions",
            "saidi_minutes",
            "saifi",
            "caidi_minutes",
            "maifi",
        ]
    ]
    for item in areas.area_indices(month, now):
        i = item.indices
        rows.append(
            [
                f"{month:%Y-%m}",
                item.code,
                item.name,
                str(i.customers),
                str(i.sustained),
                str(i.momentary),
                *(
                    "" if value is None else str(value)
                    for value in (i.saidi, i.saifi, i.caidi, i.maifi)
                ),
            ]
        )
    return rows
