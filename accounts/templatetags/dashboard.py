"""Filters for the dashboard's first render from the summary's JSON-ready values."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from common import money as money_format
from common.money import money_html, parse

register = template.Library()


@register.filter
def when(value, fmt="j M Y, H:i:s"):
    """An ISO 8601 time as local (India Standard Time) text; empty for none."""
    if not value:
        return ""
    return date_format(timezone.localtime(datetime.fromisoformat(value)), fmt)


@register.filter
def money(value, kind="ledger"):
    """An amount in the one format (common/money.py), as HTML with its `₹`."""
    return money_html(value, kind)


@register.filter
def is_rising(value) -> bool:
    """Whether a rate (a decimal string, rupees a second) pays anything now."""
    amount = parse(value)
    return amount is not None and amount > 0


@register.filter
def rupees(value):
    """`₹` and an exact amount with Indian grouping, every decimal it has kept (at least
    paise): tariffs, values a second, figures of the admin. Not a number: as given."""
    amount = parse(value)
    if amount is None:
        return value
    return money_format.rupees(amount, exact=True)


@register.filter
def duration(value):
    """Seconds (a number or decimal string) as `1 h 02 min 03 s`, in the page's language."""
    try:
        total = int(Decimal(value))
    except (InvalidOperation, TypeError):
        return value
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = {"h": hours, "min": f"{minutes:02d}", "s": f"{seconds:02d}"}
    if hours:
        return _("%(h)s h %(min)s min %(s)s s") % parts
    if minutes:
        return _("%(min)s min %(s)s s") % {**parts, "min": minutes}
    return _("%(s)s s") % {"s": seconds}


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
