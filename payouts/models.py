from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.fields import ExactDecimalField
from common.money import rupees
from payouts.destinations import Destination, PayoutMethod

MONEY = {"max_digits": 14, "decimal_places": 6}


class PayoutError(ValueError):
    """A payout step that cannot be taken, with why, in words for the reviewer."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("ledger entries are append-only: post a new entry instead")

    def delete(self):
        raise TypeError("ledger entries are append-only: post a reversal instead")


class EntryKind(models.TextChoices):
    ACCRUAL = "accrual", _("Accrual")
    PAYOUT = "payout", _("Payout")
    REVERSAL = "reversal", _("Reversal")
    ADJUSTMENT = "adjustment", _("Adjustment")


class LedgerEntry(models.Model):
    """A movement of a household's money. Never updated or deleted (model and database)."""

    # No index of their own on the foreign keys or the time: the composite
    # indexes below serve those lookups, and every index costs each insert.
    # No database foreign-key constraints either: checking two per row, at
    # 50,000 accrual rows a second, cost as much as inserting them (PostgreSQL
    # runs one lookup and row lock per key). What they would protect is held
    # otherwise: the accrual writes only ids it read in the same transaction,
    # outages and households are never deleted (PROTECT here in the ORM, and
    # in the database by the foreign keys of AccrualState and HouseholdBalance,
    # which every posting household and outage has).
    household = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = ExactDecimalField(**MONEY)
    outage = models.ForeignKey(
        "devices.Outage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,  # (outage, accrual_seq) below serves it
        db_constraint=False,  # see household
    )
    # The n-th accrual of its outage: a repeated post collides on (outage, n).
    accrual_seq = models.PositiveIntegerField(null=True, blank=True)
    # A payout's money leaving the balance, or coming back when it is rejected.
    payout = models.ForeignKey(
        "Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    created_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("ledger entries")
        constraints = [
            models.UniqueConstraint(fields=["outage", "accrual_seq"], name="ledger_accrual_once"),
            # A payout leaves the balance once and comes back at most once.
            models.UniqueConstraint(fields=["payout", "kind"], name="ledger_payout_once"),
            models.CheckConstraint(
                condition=~models.Q(kind="accrual")
                | (models.Q(outage__isnull=False) & models.Q(accrual_seq__isnull=False)),
                name="ledger_accrual_names_its_outage",
            ),
        ]
        indexes = [models.Index(fields=["household", "created_at"])]

    def __str__(self) -> str:
        return gettext("%(kind)s %(amount)s for %(household)s") % {
            "kind": self.get_kind_display(),
            "amount": self.amount,
            "household": self.household,
        }

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("ledger entries are append-only: post a new entry instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("ledger entries are append-only: post a reversal instead")


class AccrualState(models.Model):
    """What the ledger holds for an outage, kept beside it so that a run need not sum it."""

    outage = models.OneToOneField("devices.Outage", primary_key=True, on_delete=models.PROTECT)
    household = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    posted = ExactDecimalField(**MONEY, default=Decimal(0))
    entries = models.PositiveIntegerField(default=0)
    # The accrual's checkpoints: when the outage is next due to be posted (its own second of
    # every checkpoint interval, payouts.accrual.next_checkpoint), and when its owed was last
    # worked out for a quote; an outage is open until it ended and was posted in full.
    due_at = models.DateTimeField(null=True, blank=True)
    quoted_at = models.DateTimeField(null=True, blank=True)
    # The outage's `updated_at` when it was last posted: evidence changed since if they differ.
    evidence_at = models.DateTimeField(null=True, blank=True)
    open = models.BooleanField(default=True, db_default=True)  # raw inserts too

    class Meta:
        indexes = [
            # The due checkpoints, a run at a time: only open outages are in these.
            models.Index(fields=["due_at"], condition=models.Q(open=True), name="accrual_post_due"),
            models.Index(
                fields=["quoted_at"], condition=models.Q(open=True), name="accrual_quote_due"
            ),
        ]

    def __str__(self) -> str:
        return gettext("outage %(outage)s: %(posted)s in %(entries)s entries") % {
            "outage": self.outage_id,
            "posted": self.posted,
            "entries": self.entries,
        }


class HouseholdBalance(models.Model):
    """The sum of a household's ledger entries, kept up to date in the same transactions."""

    household = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.PROTECT, related_name="balance"
    )
    amount = ExactDecimalField(**MONEY, default=Decimal(0))

    def __str__(self) -> str:
        return f"{self.household}: {self.amount}"


class AccrualRun(models.Model):
    """One run of the accrual: when, how much, how long. Also its watermark for the next."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    # Households are split over `shards` runs that go in parallel; this run took one.
    shard = models.PositiveSmallIntegerField(default=0)
    shards = models.PositiveSmallIntegerField(default=1)
    outages = models.PositiveIntegerField()
    posted_entries = models.PositiveIntegerField()
    posted_amount = ExactDecimalField(**MONEY)
    households = models.PositiveIntegerField()
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return gettext("run at %(time)s: %(entries)s entries") % {
            "time": f"{self.started_at:%H:%M:%S}",
            "entries": self.posted_entries,
        }


class PayoutState(models.TextChoices):
    AWAITING = "awaiting", _("Awaiting review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    PAID = "paid", _("Paid")


class RejectionKind(models.TextChoices):
    """What a rejection does with the payout's money and the outages it paid for."""

    RETURN = "return", _("Return to the balance")  # e.g. wrong account details: paid next time
    REFUSE = "refuse", _("Refuse the claim")  # its outages are withheld for good


# The only transitions there are: from -> the states it may go to.
TRANSITIONS = {
    PayoutState.AWAITING: {PayoutState.APPROVED, PayoutState.REJECTED},
    PayoutState.APPROVED: {PayoutState.PAID, PayoutState.REJECTED},
    PayoutState.REJECTED: set(),
    PayoutState.PAID: set(),
}


class Payout(models.Model):
    """A household's balance, in whole paise, on its way out; board staff review it.

    Its money leaves the balance when it is created (a `payout` ledger entry);
    a rejection brings it back (a `reversal` entry).
    """

    household = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payouts"
    )
    amount = ExactDecimalField(max_digits=12, decimal_places=2)
    state = models.CharField(
        max_length=16, choices=PayoutState.choices, default=PayoutState.AWAITING, db_index=True
    )
    period = models.DateField(help_text=_("the day (India) of the run that made it"))
    covers_from = models.DateTimeField(
        null=True, blank=True, help_text=_("the household's previous payout; none for the first")
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True, help_text=_("why it was rejected"))
    rejection = models.CharField(
        max_length=8,
        choices=RejectionKind.choices,
        blank=True,
        default="",
        help_text=_(
            "returned to the balance (paid next time), or the claim refused (its outages "
            "withheld for good)"
        ),
    )
    # Rejected payouts returned to the balance whose money this one pays again: it waits
    # for review, and its evidence shows their outages too.
    carries = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="carried_by"
    )
    flags = models.TextField(
        blank=True, help_text=_("what the policy's corroboration rules said when it was made")
    )
    # Payouts are whole paise: what stayed in the balance when it was made (under a paisa),
    # for the next payout. None for payouts made before it was kept.
    left_in_balance = ExactDecimalField(**MONEY, null=True, blank=True)
    # Sent to the bank (or the billing system) in an export: never exported again, and
    # rejected only if the bank returned it unpaid.
    exported_at = models.DateTimeField(null=True, blank=True)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text=_("bank, UPI or bill-credit reference")
    )
    # Where it goes, copied from the household when it is approved: what is
    # exported and paid is what was approved, whatever the household sets later.
    destination_method = models.CharField(
        _("method"), max_length=8, choices=PayoutMethod.choices, blank=True, default=""
    )
    destination_upi_id = models.CharField(_("UPI ID"), max_length=255, blank=True, default="")
    destination_bank_account = models.CharField(
        _("bank account number"), max_length=18, blank=True, default=""
    )
    destination_ifsc = models.CharField(_("IFSC"), max_length=11, blank=True, default="")
    destination_account_holder = models.CharField(
        _("account holder"), max_length=100, blank=True, default=""
    )
    destination_consumer_number = models.CharField(
        _("electricity consumer number"), max_length=20, blank=True, default=""
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("review_payout", "Can approve, reject and mark payouts paid")]
        constraints = [
            models.UniqueConstraint(fields=["household", "period"], name="payout_once_per_period"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_positive"),
            models.CheckConstraint(
                condition=~models.Q(state="rejected") | ~models.Q(reason=""),
                name="payout_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(state="rejected", rejection__in=["return", "refuse"])
                | (~models.Q(state="rejected") & models.Q(rejection="")),
                name="payout_rejection_says_which",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="paid") | ~models.Q(reference=""),
                name="payout_paid_has_reference",
            ),
            # One payment, one payout: a reference marks one payout paid (an IMPS transfer's
            # reference is an RRN like UPI's: unique across methods).
            models.UniqueConstraint(
                fields=["reference"],
                condition=~models.Q(reference=""),
                name="payout_reference_once",
            ),
        ]

    def __str__(self) -> str:
        return gettext("Payout #%(id)s: %(amount)s to %(household)s (%(state)s)") % {
            "id": self.pk,
            "amount": rupees(self.amount),
            "household": self.household,
            "state": self.get_state_display(),
        }

    def destination(self) -> Destination:
        """Where it was approved to go (empty before approval)."""
        return Destination(
            method=self.destination_method,
            upi_id=self.destination_upi_id,
            bank_account=self.destination_bank_account,
            ifsc=self.destination_ifsc,
            account_holder=self.destination_account_holder,
            consumer_number=self.destination_consumer_number,
        )


def destination_snapshot(destination: Destination) -> dict[str, str]:
    """The Payout fields that record `destination` as approved."""
    kept = destination.normalised()
    return {f"destination_{name}": value for name, value in kept.as_dict().items()}


class HistoryKind(models.TextChoices):
    """What a row of a payout's review history records."""

    STEP = "step", _("Review step")  # from one state to another
    EXPORT = "export", _("Exported")  # sent to the bank or billing system; it stays approved


class PayoutTransition(models.Model):
    """One line of a payout's review history: who, when, from, to, and the note.

    A review step moves it from one state to another; an export leaves it approved
    (from and to: approved) and is recorded once. A rejection of an exported payout
    records that the reviewer said the bank returned it unpaid (`bank_returned`).
    """

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="transitions")
    kind = models.CharField(max_length=8, choices=HistoryKind.choices, default=HistoryKind.STEP)
    from_state = models.CharField(max_length=16, choices=PayoutState.choices)
    to_state = models.CharField(max_length=16, choices=PayoutState.choices)
    # None: the policy's rules made this step (a payout approved at once).
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)
    rejection = models.CharField(
        max_length=8, choices=RejectionKind.choices, blank=True, default=""
    )
    bank_returned = models.BooleanField(
        default=False,
        help_text=_("rejecting an exported payout: the reviewer said the bank returned it unpaid"),
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # Each step out of a state happens once: two reviewers cannot both move it.
            models.UniqueConstraint(
                fields=["payout", "from_state"],
                condition=models.Q(kind="step"),
                name="payout_step_once",
            ),
            models.UniqueConstraint(
                fields=["payout"], condition=models.Q(kind="export"), name="payout_exported_once"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="export")
                | models.Q(from_state="approved", to_state="approved"),
                name="payout_export_stays_approved",
            ),
            models.CheckConstraint(
                condition=models.Q(bank_returned=False)
                | models.Q(kind="step", to_state="rejected"),
                name="payout_bank_returned_on_rejection",
            ),
            models.CheckConstraint(
                condition=models.Q(to_state="rejected", rejection__in=["return", "refuse"])
                | (~models.Q(to_state="rejected") & models.Q(rejection="")),
                name="payout_step_rejection_says_which",
            ),
        ]

    def __str__(self) -> str:
        at = f"{self.at:%Y-%m-%d %H:%M}"
        if self.kind == HistoryKind.EXPORT:
            return gettext("exported by %(by)s at %(at)s") % {
                "by": self.by or gettext("unrecorded"),
                "at": at,
            }
        return gettext("%(from)s -> %(to)s by %(by)s at %(at)s") % {
            "from": self.from_state,
            "to": self.to_state,
            "by": self.by or gettext("the policy"),
            "at": at,
        }


class WithheldOutage(models.Model):
    """What was taken from the balance for one outage when a payout was made: the policy's
    rule said not to pay it, or its claim had been refused. The payout's `adjustment`
    entry names them all; these rows say how much each."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="withheld_outages")
    outage = models.ForeignKey("devices.Outage", on_delete=models.PROTECT, related_name="+")
    amount = ExactDecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payout", "outage"], name="withheld_outage_once")
        ]

    def __str__(self) -> str:
        return gettext("outage %(outage)s: %(amount)s withheld with payout %(payout)s") % {
            "outage": self.outage_id,
            "amount": self.amount,
            "payout": self.payout_id,
        }


class RefusedOutage(models.Model):
    """An outage whose claim board staff refused for good, rejecting a payout that paid for it.

    It never counts again: not for payouts, not for the caps' room (the accrual
    leaves it out: `refused_outage_ids`). `amount` is what the ledger held for it
    then (all its accruals, less what was withheld before), taken back by `entry`.
    """

    outage = models.OneToOneField(
        "devices.Outage", primary_key=True, on_delete=models.PROTECT, related_name="refusal"
    )
    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="refused_outages")
    amount = ExactDecimalField(**MONEY)
    entry = models.ForeignKey(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField()

    def __str__(self) -> str:
        return gettext("outage %(outage)s refused with payout %(payout)s") % {
            "outage": self.outage_id,
            "payout": self.payout_id,
        }


def refused_outage_ids() -> models.QuerySet:
    """The ids of outages refused for good, as a subquery: `.exclude(pk__in=...)` on outages,
    `.exclude(outage__in=...)` on what refers to them. Beside the model, so that the
    accrual and the quotes use it without importing what imports them."""
    return RefusedOutage.objects.values_list("outage_id", flat=True)
