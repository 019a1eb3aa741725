"""The admin's policy form: tiers as rows instead of typed JSON, and a preview of what cuts pay."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from common.money import rupees
from policy.compensation import CutExample, cut_examples
from policy.models import MAX_GAP_LIMIT_SECONDS, STARTS_FROM_NOW, Policy

# A rate an hour below what a cap may hold (12 digits, 2 places): past it, no cap would bind.
MAX_RATE = Decimal("1e10")
MAX_ROWS = 50  # no schedule needs more; bounds what a posted form can make us read
PREVIEW = "_preview"  # the name of the form's Preview button
REFERENCE_HOUSEHOLD = {"monthly_units": Decimal(300), "tariff": Decimal(6)}


class TiersWidget(forms.Widget):
    """Rows of "from hour" and "rupees per hour", a few empty ones to add more."""

    spare_rows = 2
    at_least_rows = 4

    def value_from_datadict(self, data, files, name):
        rows = []
        for n in range(MAX_ROWS):
            start, rate = data.get(f"{name}_from_{n}"), data.get(f"{name}_rate_{n}")
            if start is None and rate is None:
                break
            rows.append(((start or "").strip(), (rate or "").strip()))
        return rows

    def value_omitted_from_data(self, data, files, name):
        return f"{name}_from_0" not in data

    def id_for_label(self, id_):
        return f"{id_}_from_0" if id_ else id_

    def render(self, name, value, attrs=None, renderer=None):
        rows = [(_text(start), _text(rate)) for start, rate in _pairs(value)]
        count = min(MAX_ROWS, max(self.at_least_rows, len(rows) + self.spare_rows))
        rows += [("", "")] * (count - len(rows))
        base_id = (attrs or {}).get("id") or f"id_{name}"
        body = format_html_join(
            "",
            '<tr><td><input type="text" inputmode="decimal" name="{0}_from_{1}" id="{2}_from_{1}"'
            ' value="{3}" aria-label="{4}" size="6"></td>'
            '<td><input type="text" inputmode="decimal" name="{0}_rate_{1}" id="{2}_rate_{1}"'
            ' value="{5}" aria-label="{6}" size="8"></td></tr>',
            (
                (
                    name,
                    n,
                    base_id,
                    start,
                    _("Tier %(n)d: from hour") % {"n": n + 1},
                    rate,
                    _("Tier %(n)d: rupees per hour") % {"n": n + 1},
                )
                for n, (start, rate) in enumerate(rows)
            ),
        )
        return format_html(
            '<table class="tiers-table"><thead><tr><th scope="col">{}</th>'
            '<th scope="col">{}</th></tr></thead><tbody>{}</tbody></table>',
            _("From hour"),
            _("Rupees per hour"),
            body,
        )


def _pairs(value) -> list[tuple]:
    """Rows as (from hour, rupees per hour), from stored JSON or from what was posted."""
    if not value or isinstance(value, str):
        return []
    try:
        return [(row[0], row[1]) for row in value]
    except (TypeError, IndexError, KeyError):
        return []


def _text(value) -> str:
    return "" if value is None else str(value)


# What is wrong with a number of a tier's row, for its hour and for its rupees per hour.
NUMBER_ERRORS = {
    "hour": {
        "not a number": gettext_lazy("Row %(row)d: the hour “%(text)s” is not a number."),
        "negative": gettext_lazy("Row %(row)d: the hour cannot be negative."),
        "places": gettext_lazy("Row %(row)d: the hour has at most two decimal places."),
    },
    "rate": {
        "not a number": gettext_lazy(
            "Row %(row)d: the rupees per hour “%(text)s” is not a number."
        ),
        "negative": gettext_lazy("Row %(row)d: the rupees per hour cannot be negative."),
        "places": gettext_lazy("Row %(row)d: the rupees per hour has at most two decimal places."),
    },
}


def _number(text: str, row: int, what: str) -> Decimal:
    """The row's hour (`what` "hour") or rupees per hour ("rate") as a number."""
    errors = NUMBER_ERRORS[what]
    values = {"row": row, "text": text}
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise forms.ValidationError(errors["not a number"] % values) from None
    if not number.is_finite():
        raise forms.ValidationError(errors["not a number"] % values)
    if number < 0:
        raise forms.ValidationError(errors["negative"] % values)
    if number.as_tuple().exponent < -2:
        raise forms.ValidationError(errors["places"] % values)
    return number


def _json(number: Decimal):
    """As the tiers JSON has always held them: whole hours as numbers, the rest as strings."""
    text = format(number.normalize(), "f")
    return int(text) if number == number.to_integral_value() else text


class TiersField(forms.Field):
    """Tiers entered as rows, stored as the same `tiers` JSON: [[from hour, "rupees"], ...]."""

    widget = TiersWidget

    def to_python(self, value):
        tiers, previous = [], None
        for n, (start_text, rate_text) in enumerate(_pairs(value), start=1):
            if not start_text and not rate_text:
                continue  # an empty row is no tier
            if not start_text or not rate_text:
                raise forms.ValidationError(
                    _("Row %(row)d: give both the hour it starts from and the rupees per hour.")
                    % {"row": n}
                )
            start = _number(start_text, n, "hour")
            rate = _number(rate_text, n, "rate")
            if previous is None and start != 0:
                raise forms.ValidationError(
                    _("The first tier starts at hour 0 (₹0 there leaves the first hours unpaid).")
                )
            if previous is not None and start <= previous:
                raise forms.ValidationError(
                    _(
                        "Row %(row)d: tiers go up in hours: hour %(start)s is not after "
                        "hour %(previous)s."
                    )
                    % {"row": n, "start": start, "previous": previous}
                )
            if rate >= MAX_RATE:
                raise forms.ValidationError(
                    _("Row %(row)d: at most %(most)s an hour, as caps are.")
                    % {"row": n, "most": rupees(MAX_RATE - Decimal("0.01"))}
                )
            previous = start
            tiers.append([_json(start), format(rate.normalize(), "f")])
        return tiers

    def prepare_value(self, value):
        return value

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or [])
        except forms.ValidationError:
            return True


class PolicyForm(forms.ModelForm):
    """A policy version; "Preview" shows what cuts would pay under it without saving it."""

    tiers = TiersField(
        required=False,
        label=gettext_lazy("Tiers"),
        help_text=gettext_lazy(
            "For a tiered policy: from each hour of the cut on, this many rupees an hour, "
            "until the next row's hour. The first row starts at hour 0; empty rows are ignored."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The model refuses more (and a max_gap past the silence timeout); the browser says so
        # before posting.
        if "max_gap_seconds" in self.fields:  # not when shown read-only (a version in force)
            self.fields["max_gap_seconds"].widget.attrs["max"] = MAX_GAP_LIMIT_SECONDS

    class Meta:
        model = Policy
        fields = (
            *("name", "kind", "effective_from", "note", "multiplier", "escalation", "tiers"),
            *("grace_seconds", "cap_per_outage", "cap_per_month"),
            *("max_gap_seconds", "silence_timeout_seconds", "corroboration_households"),
            *("planned_unpaid_hours", "exemptions_pay"),
            *("corroborated_outages", "uncorroborated_outages", "contradicted_outages"),
        )

    def clean_effective_from(self):
        value = self.cleaned_data["effective_from"]
        if value is not None and value < timezone.now():
            raise forms.ValidationError(STARTS_FROM_NOW)
        return value

    def is_valid(self):
        valid = super().is_valid()
        if valid and PREVIEW in self.data:
            return False  # checked and previewed, not saved: the page comes back with it
        return valid

    def preview(self) -> list[CutExample] | None:
        """What 1 h, 3 h and 8 h cuts pay the reference household under the version as entered."""
        if self.is_bound:
            if self.errors:
                return None  # the errors say what to correct first
            policy = self.instance  # ModelForm has written the cleaned values onto it
        elif self.instance.pk:
            policy = self.instance
        else:
            policy = _policy_from(self.initial)
        try:
            return cut_examples(policy.terms(), **REFERENCE_HOUSEHOLD)
        except (TypeError, ValueError, ArithmeticError):
            return None


def _policy_from(initial: dict) -> Policy:
    """An unsaved version from a form's initial values (a preset, or the defaults)."""
    policy = Policy()
    for field in Policy._meta.concrete_fields:
        if field.name in initial and not field.is_relation and field.name != "id":
            setattr(policy, field.name, field.to_python(initial[field.name]))
    return policy
