"""The review of payouts: the only transitions there are (`payouts.models.TRANSITIONS`),
each recorded (who, when, from, to, the note).

A rejection posts a `reversal` that brings the money back and says which it is: *return*
(the household is paid next time: the next payout carries this one, waits for review and
shows its outages again) or *refuse* (the outages it paid for are refused for good, and an
`adjustment` takes back everything the ledger holds for them; they never count again). A
payout is approved only to a usable destination (payouts/destinations.py), copied onto it
then; it is marked paid by a reference of the shape of its method's references.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payouts.accrual import add_to_balances
from payouts.destinations import (
    SET_IT_AT,
    Destination,
    method_words,
    normalised_reference,
    reference_problem,
)
from payouts.evidence import held_for, paid_for
from payouts.models import (
    TRANSITIONS,
    EntryKind,
    HouseholdBalance,
    LedgerEntry,
    Payout,
    PayoutError,
    PayoutState,
    PayoutTransition,
    RefusedOutage,
    RejectionKind,
    destination_snapshot,
)


def to_refuse(payout: Payout) -> dict[int, Decimal]:
    """The outages refusing the payout's claim would refuse (those it paid for, not refused
    already), and what the ledger holds for each: what the refusal takes back."""
    outages = list(paid_for(payout))
    already = set(
        RefusedOutage.objects.filter(outage_id__in=outages).values_list("outage_id", flat=True)
    )
    return held_for(o for o in outages if o not in already)


def rejection_effects(payout: Payout) -> dict[str, dict]:
    """What each kind of rejection would do to the household's balance, for the reviewer."""
    held = to_refuse(payout)
    taken = sum(held.values(), Decimal(0))
    return {
        RejectionKind.RETURN: {"returned": payout.amount, "net": payout.amount},
        RejectionKind.REFUSE: {
            "returned": payout.amount,
            "taken_back": taken,
            "net": payout.amount - taken,
            "outages": sorted(held.items()),
        },
    }


CHOOSE_REJECTION = gettext_lazy(
    "Say what the rejection does: return the money to the balance, or refuse the claim."
)

# The states by name, in the reader's language (the model's own labels, translated lazily).
STATE_LABELS = dict(PayoutState.choices)

# A step its payout's state does not allow.
CANNOT_MOVE = {
    # Translators: %(state)s is the payout's state now, e.g. "Payout #3 is paid: …".
    PayoutState.APPROVED: gettext_lazy("Payout #%(payout)s is %(state)s: it cannot be approved."),
    PayoutState.REJECTED: gettext_lazy("Payout #%(payout)s is %(state)s: it cannot be rejected."),
    PayoutState.PAID: gettext_lazy("Payout #%(payout)s is %(state)s: it cannot be marked paid."),
    PayoutState.AWAITING: gettext_lazy(
        "Payout #%(payout)s is %(state)s: it cannot be put back for review."
    ),
}


def transition(
    payout_id: int,
    to: str,
    by,
    note: str = "",
    *,
    rejection: str = "",
    seen_destination: str | None = None,
    bank_returned: bool = False,
) -> Payout:
    """Move one payout to `to`; a rejection needs a reason and its kind, marking paid a reference.

    Approving, `seen_destination` is the fingerprint (`Destination.fingerprint()`: every
    field) of where the reviewer was shown the payout goes: if the household changed any
    part of it meanwhile, the approval is refused. Rejecting a payout already
    sent to the bank in an export needs `bank_returned` (the bank did not pay it), and the
    step records it.

    Safe under concurrency: the row is locked and the move is a compare-and-set
    on its state, and each step out of a state is unique in the database, so
    of two reviewers doing the same thing at once one wins and the other is told.
    """
    to = PayoutState(to)
    note = note.strip()
    if to == PayoutState.REJECTED and not note:
        raise PayoutError(_("Give a reason for the rejection."))
    if to == PayoutState.REJECTED and rejection not in RejectionKind.values:
        raise PayoutError(CHOOSE_REJECTION)
    if to != PayoutState.REJECTED and rejection:
        raise PayoutError(_("Only a rejection returns the money or refuses the claim."))
    if to == PayoutState.PAID and not note:
        raise PayoutError(_("Give the payment's reference (bank, UPI or bill credit)."))
    now = timezone.now()
    with transaction.atomic():
        payout = (
            Payout.objects.select_for_update(of=("self",))
            .select_related("household")
            .get(pk=payout_id)
        )
        was = PayoutState(payout.state)
        if to not in TRANSITIONS[was]:
            raise PayoutError(
                CANNOT_MOVE[to] % {"payout": payout.pk, "state": str(STATE_LABELS[was]).lower()}
            )
        changes: dict = {"state": to}
        if to in (PayoutState.APPROVED, PayoutState.REJECTED):
            changes.update(decided_at=now, decided_by=by)
        if to == PayoutState.APPROVED:
            # The household's row locked: its destination cannot change under the approval.
            household = (
                type(payout.household).objects.select_for_update().get(pk=payout.household_id)
            )
            destination = household.payout_destination()
            if not destination.ready():
                raise PayoutError(no_destination(payout, destination))
            if seen_destination is not None and not constant_time_compare(
                destination.fingerprint(), seen_destination
            ):
                raise PayoutError(
                    _(
                        "Payout #%(payout)s: the household changed where it goes while you "
                        "were looking (now %(destination)s): look again before approving."
                    )
                    % {"payout": payout.pk, "destination": destination.details()}
                )
            changes.update(destination_snapshot(destination))
        if to == PayoutState.REJECTED and payout.exported_at and not bank_returned:
            raise PayoutError(
                _(
                    "Payout #%(payout)s went to the bank in the export of %(when)s: reject it "
                    "only if the bank returned it unpaid (say so), else mark it paid."
                )
                % {
                    "payout": payout.pk,
                    "when": date_format(timezone.localtime(payout.exported_at), "d M Y H:i"),
                }
            )
        if to == PayoutState.PAID:
            method = payout.destination_method
            if not method:
                raise PayoutError(
                    _(
                        "Payout #%(payout)s was approved with no destination recorded: reject "
                        "it, returning the money to the balance, and approve the next payout "
                        "once the household has set one."
                    )
                    % {"payout": payout.pk}
                )
            problem = reference_problem(method, note)
            if problem:
                raise PayoutError(
                    # Translators: e.g. "Payout #3 goes by UPI: its reference is …".
                    _("Payout #%(payout)s goes by %(method)s: %(problem)s.")
                    % {"payout": payout.pk, "method": method_words(method), "problem": problem}
                )
            note = normalised_reference(method, note)
            used = (
                Payout.objects.filter(reference=note)
                .exclude(pk=payout.pk)
                .values_list("pk", flat=True)
                .first()
            )
            if used is not None:
                raise PayoutError(
                    _(
                        "Payout #%(payout)s: reference %(reference)s already marks payout "
                        "#%(used)s paid: one payment, one payout."
                    )
                    % {"payout": payout.pk, "reference": note, "used": used}
                )
        if to == PayoutState.REJECTED:
            changes.update(reason=note, rejection=rejection)
        if to == PayoutState.PAID:
            changes.update(paid_at=now, paid_by=by, reference=note)
        if Payout.objects.filter(pk=payout.pk, state=was).update(**changes) != 1:
            raise PayoutError(
                _("Payout #%(payout)s was changed meanwhile: look again.") % {"payout": payout.pk}
            )
        PayoutTransition.objects.create(
            payout=payout,
            from_state=was,
            to_state=to,
            by=by,
            at=now,
            note=note,
            rejection=rejection if to == PayoutState.REJECTED else "",
            # What the reviewer confirmed to reject an exported payout, kept with the step.
            bank_returned=to == PayoutState.REJECTED and payout.exported_at is not None,
        )
        if to == PayoutState.REJECTED:
            _reject(payout, RejectionKind(rejection), by, now, note)
        payout.refresh_from_db()
        return payout


def _reject(payout: Payout, kind: RejectionKind, by, now: datetime, reason: str) -> None:
    """Post a rejection's money: the payout's back (`reversal`); refusing, everything the ledger
    holds for the outages it paid for taken back (`adjustment`), and those outages refused."""
    # The balance first: the accrual adds to it (and to what the outages hold) meanwhile.
    list(
        HouseholdBalance.objects.select_for_update()
        .filter(household_id=payout.household_id)
        .values_list("pk", flat=True)
    )
    LedgerEntry.objects.create(
        household_id=payout.household_id,
        kind=EntryKind.REVERSAL,
        amount=payout.amount,
        payout=payout,
        created_at=now,
        note=f"Payout #{payout.pk} rejected ({kind.label.lower()}): {reason}",
    )
    taken = Decimal(0)
    if kind == RejectionKind.REFUSE:
        held = to_refuse(payout)
        taken = sum(held.values(), Decimal(0))
        entry = None
        if taken:
            entry = LedgerEntry.objects.create(
                household_id=payout.household_id,
                kind=EntryKind.ADJUSTMENT,
                amount=-taken,
                created_at=now,
                note=f"Claim refused with payout #{payout.pk}, withheld for good: "
                + ", ".join(f"outage #{o} Rs {amount}" for o, amount in sorted(held.items()))
                + f" (all they accrued, less what was withheld before): {reason}",
            )
        RefusedOutage.objects.bulk_create(
            RefusedOutage(
                outage_id=o, payout=payout, amount=amount, entry=entry, by=by, at=now, reason=reason
            )
            for o, amount in sorted(held.items())
        )
    add_to_balances({payout.household_id: payout.amount - taken})


def no_destination(payout: Payout, destination: Destination) -> str:
    """Why a payout cannot be approved yet, for the reviewer."""
    # Translators: e.g. "Payout #3: bob has no payout destination: ask the household …".
    return _(
        "Payout #%(payout)s: %(household)s has %(why)s: ask the household to set one at %(url)s"
    ) % {
        "payout": payout.pk,
        "household": payout.household,
        "why": destination.unusable_because(),
        "url": SET_IT_AT,
    }
