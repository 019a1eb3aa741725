"""Filters for the dashboard's first render from the summary's JSON-ready values."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def when(value, fmt="j M Y, H:i:s"):
    """An ISO 8601 time as local (India Standard Time) text; empty for none."""
    if not value:
        return ""
    from django.utils.dateformat import format as date_format

    return date_format(timezone.localtime(datetime.fromisoformat(value)), fmt)


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
    """Rupees per second (a decimal string) as rupees per hour, 2 decimals."""
    try:
        return f"{Decimal(value) * 3600:.2f}"
    except (InvalidOperation, TypeError):
        return value


@register.filter
def lookup(mapping, key):
    return mapping.get(key, key)
