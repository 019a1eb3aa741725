"""The board's pages: thin; the numbers come from board/selectors.py and devices/areas.py."""

import csv
import io
from datetime import date
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.roles import BOARD_VIEW_PERMISSION
from board import selectors
from common.spreadsheet import safe_cell
from devices import areas


def _not_board_staff(request):
    """The site's 403 page for anyone but board staff, else None.

    Answered here rather than raised: an expected refusal is not an error to log
    with a traceback.
    """
    if request.user.is_staff and request.user.has_perm(BOARD_VIEW_PERMISSION):
        return None
    return render(
        request,
        "403.html",
        {"exception": _("The board's view is for electricity-board staff.")},
        status=403,
    )


def _month(request) -> date:
    """`?month=YYYY-MM`, this month (India time) when absent; BadRequest saying why otherwise."""
    text = request.GET.get("month")
    if not text:
        return timezone.localdate().replace(day=1)
    try:
        return areas.parse_month(text)
    except ValueError:
        raise BadRequest(
            # Translators: "month" is the address's ?month= parameter, YYYY-MM its format
            # (year and month in digits, e.g. 2026-11): keep both as they are.
            _("month is YYYY-MM, from %(first)s to %(last)s.")
            % {"first": f"{areas.FIRST_DAY:%Y-%m}", "last": f"{areas.LAST_DAY:%Y-%m}"}
        ) from None


def _bad_request(request, error: BadRequest) -> HttpResponse:
    return render(request, "400.html", {"reason": str(error)}, status=400)


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
    if (refused := _not_board_staff(request)) is not None:
        return refused
    try:
        month = _month(request)
    except BadRequest as error:
        return _bad_request(request, error)
    now = timezone.now()
    by_area = areas.area_indices(month, now)
    charts = [
        {"title": title, "bars": _bars(by_area, field)}
        for title, field in (
            # Translators: SAIDI is a reliability index (IEEE 1366): keep it as it is.
            (_("SAIDI by area (minutes per household)"), "saidi"),
            # Translators: SAIFI is a reliability index (IEEE 1366): keep it as it is.
            (_("SAIFI by area (sustained interruptions per household)"), "saifi"),
            # Translators: MAIFI is a reliability index (IEEE 1366): keep it as it is.
            (_("MAIFI by area (momentary interruptions per household)"), "maifi"),
        )
    ]
    out = selectors.areas_out(now)
    return render(
        request,
        "board/board.html",
        {
            "now": now,
            "month": month,
            "first_month": areas.FIRST_DAY,
            "last_month": areas.LAST_DAY,
            "areas_out": out,
            "paying_now": sum((a["rate_per_second"] for a in out), Decimal(0)),
            "compensation": selectors.compensation_by_area(now),
            "pending": selectors.pending_payouts(),
            "indices": by_area,
            "charts": charts,
        },
    )


@login_required
def indices_csv(request):
    if (refused := _not_board_staff(request)) is not None:
        return refused
    try:
        month = _month(request)
    except BadRequest as error:
        return _bad_request(request, error)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in selectors.indices_csv_rows(month):
        writer.writerow([safe_cell(cell) for cell in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reliability-{month:%Y-%m}.csv"'
    return response
