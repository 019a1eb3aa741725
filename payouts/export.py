"""Approved payouts out to the bank or the bill-credit run, as CSV, each exported once."""

from __future__ import annotations

import csv
import io

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.spreadsheet import safe_cell
from payouts.models import (
    HistoryKind,
    Payout,
    PayoutError,
    PayoutState,
    PayoutTransition,
)

CSV_HEADER = [
    "payout_id",
    "household",
    "name",
    "email",
    "method",
    "upi_id",
    "account_number",
    "ifsc",
    "account_holder",
    "consumer_number",
    "amount",
    "period",
]


def export_csv(payouts, by=None) -> tuple[str, list[str]]:
    """Approved payouts not yet exported, as CSV for the bank or bill-credit run, each to where
    it was approved; they are marked exported (who, when), so that no later export repeats
    them and no rejection undoes a payment the bank may have made.

    Each export is a line of the payout's review history (`HistoryKind.EXPORT`).

    Returns the CSV and what was left out of the selection and why (not approved,
    approved before destinations were recorded, exported before). Refuses when
    nothing selected can be exported.
    """
    now = timezone.now()
    with transaction.atomic():
        selected = list(
            payouts.select_for_update(of=("self",)).select_related("household").order_by("pk")
        )
        why = [
            (
                # Translators: payouts left out of an export, and why; then "#3, #4".
                _("Left out, not approved: %(payouts)s"),
                [p.pk for p in selected if p.state != PayoutState.APPROVED],
            ),
            (
                _(
                    "Left out, approved with no destination recorded (reject them, returning "
                    "the money to the balance: it goes out with the next payout): %(payouts)s"
                ),
                [
                    p.pk
                    for p in selected
                    if p.state == PayoutState.APPROVED and not p.destination().ready()
                ],
            ),
            (
                _(
                    "Left out, exported before (mark them paid with the bank's references): "
                    "%(payouts)s"
                ),
                [
                    p.pk
                    for p in selected
                    if p.state == PayoutState.APPROVED and p.exported_at is not None
                ],
            ),
        ]
        left = {pk for _reason, pks in why for pk in pks}
        left_out = [
            reason % {"payouts": ", ".join(f"#{pk}" for pk in pks)} for reason, pks in why if pks
        ]
        payouts = [p for p in selected if p.pk not in left]
        if not payouts:
            raise PayoutError(
                _("Nothing selected can be exported. %(why)s") % {"why": " ".join(left_out)}
            )
        Payout.objects.filter(pk__in=[p.pk for p in payouts], exported_at__isnull=True).update(
            exported_at=now, exported_by=by
        )
        # In each payout's review history too (once: a unique constraint), beside its steps.
        PayoutTransition.objects.bulk_create(
            PayoutTransition(
                payout=p,
                kind=HistoryKind.EXPORT,
                from_state=PayoutState.APPROVED,
                to_state=PayoutState.APPROVED,
                by=by,
                at=now,
            )
            for p in payouts
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for p in payouts:
        h, d = p.household, p.destination().normalised()
        writer.writerow(
            [
                p.pk,
                safe_cell(h.username),
                safe_cell(h.get_full_name()),
                safe_cell(h.email),
                d.method,
                *(
                    safe_cell(value)  # shapes were checked; neutralised all the same
                    for value in (d.upi_id, d.bank_account, d.ifsc, d.account_holder)
                ),
                safe_cell(d.consumer_number),
                f"{p.amount:.2f}",
                p.period.isoformat(),
            ]
        )
    return out.getvalue(), left_out
