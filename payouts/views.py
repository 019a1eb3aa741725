"""The board's pages: thin; the numbers come from payouts/board.py and devices/areas.py."""

import csv
import io
from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from celc.spreadsheet import safe_cell
from devices import areas
from payouts import board


def _board_staff(request) -> None:
    if not (request.user.is_staff and request.user.has_perm(board.PERMISSION)):
        raise PermissionDenied("The board's view is for electricity-board staff.")


def _month(request) -> date:
    """`?month=YYYY-MM`, this month (India time) when absent; a 400 when malformed."""
    text = request.GET.get("month")
    if not text:
        return timezone.localdate().replace(day=1)
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise BadRequest("month is YYYY-MM.") from None


def _bars(by_area, field: str) -> list[dict]:
    """One bar per area for an index, the largest at full width."""
    values = [getattr(item.indices, field) for item in by_area]
    top = max((v for v in values if v is not None), default=Decimal(0))
    return [
        {
            "code": item.code,
            "value": value,
            "percent": int(value / top * 100) if top and value else 0,
        }
        for item, value in zip(by_area, values, strict=True)
    ]


@login_required
def board_view(request):
    _board_staff(request)
    month = _month(request)
    now = timezone.now()
    by_area = areas.area_indices(month, now)
    charts = [
        {"title": title, "bars": _bars(by_area, field)}
        for title, field in (
            ("SAIDI by area (minutes per household)", "saidi"),
            ("SAIFI by area (sustained interruptions per household)", "saifi"),
            ("MAIFI by area (momentary interruptions per household)", "maifi"),
        )
    ]
    out = board.areas_out(now)
    return render(
        request,
        "payouts/board.html",
        {
            "now": now,
            "month": month,
            "areas_out": out,
            "paying_now": sum((a["rate_per_second"] for a in out), Decimal(0)),
            "compensation": board.compensation_by_area(now),
            "pending": board.pending_payouts(),
            "indices": by_area,
            "charts": charts,
        },
    )


@login_required
def indices_csv(request):
    _board_staff(request)
    month = _month(request)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in board.indices_csv_rows(month):
        writer.writerow([safe_cell(cell) for cell in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reliability-{month:%Y-%m}.csv"'
    return response
