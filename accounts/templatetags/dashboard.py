"""Filters for the dashboard's first render from the summary's JSON-ready values."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone

from common.money import money_html, parse

register = template.Library()


@register.filter
def when(value, fmt="j M Y, H:i:s"):
    """An ISO 8601 time as local (India Standard Time) text; empty for none."""
    if not value:
        return ""
    from django.utils.dateformat import format as date_format

    return date_format(timezone.localtime(datetime.fromisoformat(value)), fmt)


@register.filter
def money(value, kind="ledger"):
    """An amount in the one format (common/money.py), as HTML: `Rs` is the template's."""
    return money_html(value, kind)


@register.filter
def is_rising(value) -> bool:
    """Whether a rate (a decimal string, rupees a second) pays anything now."""
    amount = parse(value)
    return amount is not None and amount > 0


@register.filter
def rupees(value, places=2):
    """A decimal string with `places` decimals, without rounding up what is not yet owed."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        return value
    step = Decimal(1).scaleb(-int(places))
    return f"{amount.quantize(step, rounding='ROUND_DOWN'):,}"


@register.filter
def duration(value):
    """Seconds (a number or decimal string) as `1 h 02 min 03 s`."""
    try:
        total = int(Decimal(value))
    except (InvalidOperation, TypeError):
        return value
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {seconds:02d} s"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


@register.filter
def per_hour(value):
    """Rupees per second (a decimal string) as rupees per hour (a decimal string)."""
    try:
        return f"{Decimal(value) * 3600:.6f}"
    except (InvalidOperation, TypeError):
        return value


@register.filter
def lookup(mapping, key):
    return mapping.get(key, key)
