"""What the electricity board sees of its network: areas out now and what they cost,
compensation by area, payouts waiting, and each area's reliability indices.

Read-only; amounts are Decimal, shown with 6 places (rupees per second) or 2.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from devices import areas
from devices.models import Area, Device, Outage, OutageStatus
from payouts.accrual import RunResult, current_policies, device_states, facts_for
from payouts.compensation import MONTH_ZONE, household_owed, month_start, still_growing
from payouts.models import EntryKind, LedgerEntry, Payout, PayoutState

# Who sees the board's view (page, CSV and live socket): staff holding it (board staff do).
PERMISSION = "payouts.view_payout"
COMPENSATION = [EntryKind.ACCRUAL, EntryKind.ADJUSTMENT]
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def paying_now(now: datetime) -> dict[str, Decimal]:
    """Rupees per second the board is paying right now, by area code (caps respected)."""
    households = set(
        Outage.objects.filter(status=OutageStatus.ONGOING).values_list(
            "device__household_id", flat=True
        )
    )
    if not households:
        return {}
    policies = current_policies()
    since = month_start(now) - timedelta(days=31)
    facts = facts_for(
        Q(device__household_id__in=households) & (Q(ended_at__isnull=True) | Q(ended_at__gte=since))
    )
    by_household: dict[int, list] = defaultdict(list)
    for f in facts.values():
        by_household[f.household_id].append(f)
    owed: dict[int, Decimal] = {}
    stopped = set()
    for household, own in by_household.items():
        own_owed = household_owed(own, policies, now).by_outage
        owed.update(own_owed)
        if not still_growing(own, policies, now, own_owed):
            stopped.add(household)
    run = RunResult(started_at=now, owed=owed, facts=facts, stopped=stopped)
    area_of = dict(
        Device.objects.filter(household_id__in=households).values_list("pk", "area__code")
    )
    rates: dict[str, Decimal] = defaultdict(Decimal)
    for state in device_states(households, run, policies, now).values():
        for device in state["devices"]:
            if device["outage"] is not None:
                rates[area_of[device["id"]]] += Decimal(device["outage"]["rate_per_second"])
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


def live_payload(now: datetime) -> dict:
    """What /board/'s "Out now" shows, JSON-ready: sent to open board pages as it changes."""
    out = areas_out(now)
    return {
        "type": "areas",
        "at": now.isoformat(),
        "paying_now": f"{sum((a['rate_per_second'] for a in out), Decimal(0)):.6f}",
        "areas": [
            {
                "code": a["code"],
                "name": a["name"],
                "off": a["off"],
                "devices": a["devices"],
                "since": a["since"].isoformat(),
                "rate_per_second": f"{a['rate_per_second']:.6f}",
            }
            for a in out
        ],
    }


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
