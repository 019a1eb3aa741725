"""How money is written for people: one format, here and in the page's script (money.js).

Rupees as India writes them: `₹` and Indian digit grouping (₹1,23,456.78; lakh and
crore), with the page's language's symbols (Babel here, `Intl.NumberFormat` in the page),
truncated toward zero, never rounded up: the page never shows what is not yet owed.
English, Tamil and Hindi all write Western digits (CLDR's default for en-IN, ta-IN
and hi-IN, and what bills, banks and UPI apps show), and all three group the Indian
way with `₹` before the amount: CLDR's own Tamil currency pattern groups in thousands
("₹ 100,000.00"), which is not how Tamil Nadu's bills and banks write rupees. Amounts the ledger
keeps to 6 places also show their sub-paise digits (two more, in smaller type), so a
balance ticking up during a cut and the same balance at rest read the same; the exact
6 places are on hover. Payouts are whole paise. Exports write plain numbers instead.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext

from babel.numbers import format_currency
from django.utils import translation
from django.utils.html import format_html

PAISA = Decimal("0.01")
SUB_PAISA = Decimal("0.0001")
EXACT = Decimal("0.000001")
INDIAN_RUPEES = "¤#,##,##0.00"  # lakh and crore grouping, ₹ before the amount


def babel_locale(language: str | None = None) -> str:
    """The CLDR locale for a site language: Indian English, Tamil or Hindi as used in India."""
    language = (language or translation.get_language() or "en").split("-")[0]
    return f"{language}_IN" if language in {"en", "ta", "hi"} else "en_IN"


def rupees(amount: Decimal, *, language: str | None = None, exact: bool = False) -> str:
    """`₹` and the amount with Indian grouping: paise (2 places), or every place given."""
    if not amount.is_finite():
        return str(amount)
    with _precise(amount):
        return format_currency(
            amount,
            "INR",
            format=INDIAN_RUPEES,
            locale=babel_locale(language),
            currency_digits=not exact,
            decimal_quantization=not exact,
        )


def _precise(amount: Decimal):
    """A decimal context with room for every digit of `amount` and 6 places more: the
    default 28 digits cannot quantize amounts from 10^22 rupees (no field holds them,
    but a figure worked out from a staff member's typo must not break a page)."""
    return localcontext(prec=max(28, amount.adjusted() + 16))


def money_parts(amount: Decimal | str, *, language: str | None = None) -> tuple[str, str, str]:
    """(₹ and grouped rupees.paise, the next two sub-paise digits, the exact 6 places).

    Decimal("123456.789012") -> ("₹1,23,456.78", "90", "123456.789012").
    """
    value = Decimal(amount)
    if not value.is_finite():
        return str(value), "", str(value)
    with _precise(value):
        size = abs(value).quantize(SUB_PAISA, ROUND_DOWN)
        paise = size.quantize(PAISA, ROUND_DOWN)
        sub = f"{int((size - paise) / SUB_PAISA):02d}"
        exact = f"{value.quantize(EXACT, ROUND_DOWN)}"
    # Owed back shows its sign even under a paisa ("-₹0.00" and its sub-paise digits), but
    # less than a hundredth of a paisa shows as nothing owed. Babel drops the sign of a
    # negative zero, so it is written here (every language here writes "-" before "₹").
    sign = "-" if value < 0 and size > 0 else ""
    return sign + rupees(paise, language=language), sub, exact


def parse(value) -> Decimal | None:
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None


def money_html(value, kind: str = "ledger"):
    """An amount in the one format, as HTML, `₹` included.

    kind "ledger": with the sub-paise digits (balances, what an outage is owed);
    "paise": whole paise only (payouts, rates an hour). Not a number: returned as given.
    """
    amount = parse(value)
    if amount is None:
        return value
    shown, sub, exact = money_parts(amount)
    title = exact_title(exact)
    if kind == "paise":
        return format_html(
            '<data class="money" value="{}" title="{}">{}</data>', exact, title, shown
        )
    return format_html(
        '<data class="money" value="{}" title="{}">{}<span class="subpaise">{}</span></data>',
        exact,
        title,
        shown,
        sub,
    )


def exact_title(exact: str) -> str:
    """The exact 6 places for the hover, signed as the figure is: "-₹12.345678"."""
    return f"-₹{exact[1:]}" if exact.startswith("-") else f"₹{exact}"
