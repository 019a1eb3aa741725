"""Geometry for the dashboard's two small SVG charts, drawn server-side (no script, no CDN)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

WIDTH, HEIGHT = 600, 140  # the viewBox; the SVG stretches to its container
PLOT_TOP, PLOT_BOTTOM = 4, 124
DAY_SECONDS = 86400


def daily_bars(daily: list[dict]) -> dict:
    """One bar per day for `[{"date": iso, "amount": "1.234567"}, ...]`, tallest at full height."""
    amounts = [Decimal(d["amount"]) for d in daily]
    top = max(amounts, default=Decimal(0))
    slot = WIDTH / max(len(daily), 1)
    span = PLOT_BOTTOM - PLOT_TOP
    bars = []
    for n, (day, amount) in enumerate(zip(daily, amounts, strict=True)):
        height = float(amount / top) * span if top > 0 and amount > 0 else 0
        when = date.fromisoformat(day["date"])
        bars.append(
            {
                "x": round(n * slot + slot * 0.15, 2),
                "width": round(slot * 0.7, 2),
                "y": round(PLOT_BOTTOM - height, 2),
                "height": round(height, 2),
                "label": f"{when:%d %b}: Rs {amount:.2f}",
                "tick": when.strftime("%d %b") if (len(daily) - 1 - n) % 7 == 0 else "",
            }
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": PLOT_BOTTOM,
        "bars": bars,
        "top": f"{top:.2f}",
        "total": f"{sum(amounts, Decimal(0)):.2f}",
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
                        "label": f"{_clock(s['from'])} to {_clock(s['to'])}",
                        "ongoing": s["ongoing"],
                    }
                    for s in spans
                    if s["device"] == name
                ],
            }
        )
    return {"rows": rows, "hours": [0, 6, 12, 18, 24]}


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}"
