"""Geometry for the dashboard's charts, drawn server-side in HTML and CSS (no script, no CDN)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils import dateformat
from django.utils.translation import gettext as _

from common.money import money_parts

DAY_SECONDS = 86400


def daily_bars(daily: list[dict]) -> dict:
    """One bar per day for `[{"date": iso, "amount": "1.234567"}, ...]`, tallest at full height."""
    amounts = [Decimal(d["amount"]) for d in daily]
    top = max(amounts, default=Decimal(0))
    bars = []
    for n, (day, amount) in enumerate(zip(daily, amounts, strict=True)):
        when = date.fromisoformat(day["date"])
        day_month = dateformat.format(when, "d M")  # "03 Nov", the month in the page's language
        bars.append(
            {
                "percent": round(float(amount / top) * 100, 2) if top > 0 and amount > 0 else 0,
                # Translators: a day's bar in the 30-day chart: "03 Nov: ₹4.50" earned that day.
                "label": _("%(day)s: %(amount)s")
                % {"day": day_month, "amount": money_parts(amount)[0]},
                # A date under every seventh bar, counted back from today.
                "tick": day_month if (len(daily) - 1 - n) % 7 == 0 else "",
                "today": n == len(daily) - 1,
            }
        )
    return {
        "bars": bars,
        "empty": top <= 0,
        "top": money_parts(top)[0],
        "middle": money_parts(top / 2)[0],
        "total": money_parts(sum(amounts, Decimal(0)))[0],
    }


def timeline(spans: list[dict]) -> dict:
    """Today's witnessed time, one row per device, x in percent of the day (IST)."""
    devices = sorted({s["device"] for s in spans})
    rows = []
    for name in devices:
        rows.append(
            {
                "device": name,
                "spans": [
                    {
                        "left": round(s["from"] / DAY_SECONDS * 100, 3),
                        "width": max(round((s["to"] - s["from"]) / DAY_SECONDS * 100, 3), 0.2),
                        "label": _label(s),
                        "ongoing": s["ongoing"],
                        "outage": s["outage"],
                    }
                    for s in spans
                    if s["device"] == name
                ],
            }
        )
    return {"rows": rows, "hours": [0, 6, 12, 18, 24]}


def _label(span: dict) -> str:
    if span["ongoing"]:  # its end is only its latest tick when the page was made
        # Translators: a cut of today's outage timeline still going on, "since 09:00".
        return _("since %(start)s") % {"start": _clock(span["from"])}
    # Translators: a stretch of today's outage timeline, "09:00 to 10:30".
    return _("%(start)s to %(end)s") % {"start": _clock(span["from"]), "end": _clock(span["to"])}


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}"
