"""How money is written for people: one format, here and in the page's script (live.js).

Rupees and paise with Indian digit grouping (1,23,456.78), truncated toward
zero, never rounded up: the page never shows what is not yet owed. Amounts
the ledger keeps to 6 places also show their sub-paise digits (two more, in
smaller type), so a balance ticking up during a cut and the same balance at
rest read the same; the exact 6 places are on hover. Payouts are whole paise.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from babel.numbers import format_decimal
from django.utils.html import format_html

PAISA = Decimal("0.01")
SUB_PAISA = Decimal("0.0001")
EXACT = Decimal("0.000001")


def money_parts(amount: Decimal | str) -> tuple[str, str, str]:
    """(sign and grouped rupees.paise, the next two sub-paise digits, the exact 6 places).

    Decimal("123456.789012") -> ("1,23,456.78", "90", "123456.789012").
    """
    value = Decimal(amount)
    sign = "-" if value < 0 else ""
    size = abs(value).quantize(SUB_PAISA, ROUND_DOWN)
    paise = size.quantize(PAISA, ROUND_DOWN)
    sub = f"{int((size - paise) / SUB_PAISA):02d}"
    grouped = format_decimal(paise, format="#,##,##0.00", locale="en_IN")
    if sign and size == 0:
        sign = ""  # less than a hundredth of a paisa owed back: nothing to show
    return f"{sign}{grouped}", sub, f"{value.quantize(EXACT, ROUND_DOWN)}"


def parse(value) -> Decimal | None:
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def money_html(value, kind: str = "ledger"):
    """An amount in the one format, as HTML (`Rs` is the caller's).

    kind "ledger": with the sub-paise digits (balances, what an outage is owed);
    "paise": whole paise only (payouts, rates an hour). Not a number: returned as given.
    """
    amount = parse(value)
    if amount is None:
        return value
    shown, sub, exact = money_parts(amount)
    if kind == "paise":
        return format_html(
            '<data class="money" value="{}" title="Rs {}">{}</data>', exact, exact, shown
        )
    return format_html(
        '<data class="money" value="{}" title="Rs {}">{}<span class="subpaise">{}</span></data>',
        exact,
        exact,
        shown,
        sub,
    )
