from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from payouts.compensation import Terms

MONEY = {"max_digits": 14, "decimal_places": 6}


class PolicyKind(models.TextChoices):
    COMPOUNDING = "compounding", "Compounding"
    TIERS = "tiers", "Tiers"


class OutageRule(models.TextChoices):
    PAY = "pay", "Pay automatically"
    REVIEW = "review", "Pay after review"
    WITHHOLD = "withhold", "Do not pay"


class Policy(models.Model):
    """One version of the compensation policy; it applies to time after `effective_from`.

    Versions are added, never rewritten once in force: what was posted under
    a version stays as it was.
    """

    name = models.CharField(max_length=100)
    kind = models.CharField(
        max_length=16, choices=PolicyKind.choices, default=PolicyKind.COMPOUNDING
    )
    effective_from = models.DateTimeField(unique=True)
    grace_seconds = models.PositiveIntegerField(default=0, help_text="nothing is owed before this")
    multiplier = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal(5), validators=[MinValueValidator(0)]
    )
    escalation = models.DecimalField(
        max_digits=8,
        decimal_places=6,
        default=Decimal("0.25"),
        validators=[MinValueValidator(0)],
        help_text="compounding growth per hour: 0.25 is 25 % an hour",
    )
    tiers = models.JSONField(
        default=list,
        blank=True,
        help_text='for tiers: [[from hour, rupees per hour], ...], e.g. [[1, "50"], [3, "100"]]',
    )
    cap_per_outage = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(500))
    cap_per_month = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal(3000),
        help_text="per household, Asia/Kolkata months",
    )
    max_gap_seconds = models.PositiveIntegerField(
        default=120, help_text="longer silences are not paid"
    )
    silence_timeout_seconds = models.PositiveIntegerField(
        default=300, help_text="then: lost contact"
    )
    planned_unpaid_hours = models.PositiveIntegerField(
        default=0,
        help_text="time inside a planned cut announced in advance pays nothing for this many "
        "hours from the cut's start (Delhi: 12)",
    )
    exemptions_pay = models.BooleanField(
        default=False, help_text="whether time inside an exemption (a declared storm) pays"
    )
    corroboration_devices = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(2)],
        help_text="an outage is corroborated when this many devices of its area "
        "(itself included) were off over overlapping time",
    )
    corroborated_outages = models.CharField(
        max_length=16,
        choices=OutageRule.choices,
        default=OutageRule.REVIEW,
        help_text="payouts made only of such outages are approved at once when this pays "
        "automatically",
    )
    uncorroborated_outages = models.CharField(
        max_length=16,
        choices=OutageRule.choices,
        default=OutageRule.REVIEW,
        help_text="too few devices of the area off together, or the area's only device",
    )
    contradicted_outages = models.CharField(
        max_length=16,
        choices=OutageRule.choices,
        default=OutageRule.REVIEW,
        help_text="another device of the area had power meanwhile",
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, editable=False
    )

    class Meta:
        ordering = ["-effective_from"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return f"{self.name} (from {timezone.localtime(self.effective_from):%Y-%m-%d %H:%M})"

    def parsed_tiers(self) -> tuple[tuple[Decimal, Decimal], ...]:
        return tuple(
            (Decimal(str(hour)), Decimal(str(per_hour))) for hour, per_hour in self.tiers or []
        )

    def clean(self):
        if self.kind == PolicyKind.TIERS:
            try:
                tiers = self.parsed_tiers()
            except (TypeError, ValueError, ArithmeticError):
                raise ValidationError(
                    {"tiers": "Give [[from hour, rupees per hour], ...]."}
                ) from None
            if not tiers:
                raise ValidationError({"tiers": "A tiered policy needs at least one tier."})
            hours = [hour for hour, _ in tiers]
            if (
                hours != sorted(set(hours))
                or any(h < 0 for h in hours)
                or any(r < 0 for _, r in tiers)
            ):
                raise ValidationError(
                    {"tiers": "Hours must ascend from 0 and amounts be positive."}
                )

    def terms(self) -> Terms:
        return Terms(
            id=self.pk,
            effective_from=self.effective_from,
            kind=self.kind,
            grace_seconds=self.grace_seconds,
            multiplier=self.multiplier,
            escalation=self.escalation,
            tiers=self.parsed_tiers(),
            cap_per_outage=self.cap_per_outage,
            cap_per_month=self.cap_per_month,
            planned_unpaid_seconds=self.planned_unpaid_hours * 3600,
            exemptions_pay=self.exemptions_pay,
            name=self.name,
        )


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("ledger entries are append-only: post a new entry instead")

    def delete(self):
        raise TypeError("ledger entries are append-only: post a reversal instead")


class EntryKind(models.TextChoices):
    ACCRUAL = "accrual", "Accrual"
    PAYOUT = "payout", "Payout"
    REVERSAL = "reversal", "Reversal"
    ADJUSTMENT = "adjustment", "Adjustment"


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
    amount = models.DecimalField(**MONEY)
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
        verbose_name_plural = "ledger entries"
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
        return f"{self.get_kind_display()} {self.amount} for {self.household}"

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
    posted = models.DecimalField(**MONEY, default=Decimal(0))
    entries = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"outage {self.outage_id}: {self.posted} in {self.entries} entries"


class HouseholdBalance(models.Model):
    """The sum of a household's ledger entries, kept up to date in the same transactions."""

    household = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.PROTECT, related_name="balance"
    )
    amount = models.DecimalField(**MONEY, default=Decimal(0))

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
    posted_amount = models.DecimalField(**MONEY)
    households = models.PositiveIntegerField()
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"run at {self.started_at:%H:%M:%S}: {self.posted_entries} entries"


class PayoutState(models.TextChoices):
    AWAITING = "awaiting", "Awaiting review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Paid"


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
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    state = models.CharField(
        max_length=16, choices=PayoutState.choices, default=PayoutState.AWAITING, db_index=True
    )
    period = models.DateField(help_text="the day (India) of the run that made it")
    covers_from = models.DateTimeField(
        null=True, blank=True, help_text="the household's previous payout; none for the first"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="why it was rejected")
    flags = models.TextField(
        blank=True, help_text="what the policy's corroboration rules said when it was made"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(
        max_length=100, blank=True, help_text="bank, UPI or bill-credit reference"
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
                condition=~models.Q(state="paid") | ~models.Q(reference=""),
                name="payout_paid_has_reference",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Payout #{self.pk}: Rs {self.amount} to {self.household} ({self.get_state_display()})"
        )


class PayoutTransition(models.Model):
    """One step of a payout's review: who, when, from, to, and the note."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=PayoutState.choices)
    to_state = models.CharField(max_length=16, choices=PayoutState.choices)
    # None: the policy's rules made this step (a payout approved at once).
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # Each step out of a state happens once: two reviewers cannot both move it.
            models.UniqueConstraint(fields=["payout", "from_state"], name="payout_step_once"),
        ]

    def __str__(self) -> str:
        who = self.by or "the policy"
        return f"{self.from_state} -> {self.to_state} by {who} at {self.at:%Y-%m-%d %H:%M}"
