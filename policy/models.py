"""The compensation policy: its versions, as board staff add them in the admin."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from policy.compensation import Terms


class PolicyKind(models.TextChoices):
    COMPOUNDING = "compounding", _("Compounding")
    TIERS = "tiers", _("Tiers")


class OutageHandling(models.TextChoices):
    PAY = "pay", _("Pay automatically")
    REVIEW = "review", _("Pay after review")
    WITHHOLD = "withhold", _("Do not pay")


STARTS_FROM_NOW = _("A version applies forward only: give a time from now on.")

# A silence longer than this is never witnessed time, whatever a version says: a few minutes
# (devices tick every second in a cut), and never past the version's silence timeout.
MAX_GAP_LIMIT_SECONDS = 600
MAX_GAP_TOO_LONG = format_lazy(
    _("At most {limit} s: a longer silence is nobody's witness."), limit=MAX_GAP_LIMIT_SECONDS
)
MAX_GAP_PAST_SILENCE = _(
    "At most the silence timeout: a device silent that long has lost contact, not witnessed."
)


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
    grace_seconds = models.PositiveIntegerField(
        default=0, help_text=_("nothing is owed before this")
    )
    multiplier = models.DecimalField(
        max_digits=8, decimal_places=4, default=Decimal(5), validators=[MinValueValidator(0)]
    )
    escalation = models.DecimalField(
        max_digits=8,
        decimal_places=6,
        default=Decimal("0.25"),
        validators=[MinValueValidator(0)],
        # xgettext:no-python-format
        help_text=_("compounding growth per hour: 0.25 is 25 % an hour"),
    )
    tiers = models.JSONField(
        default=list,
        blank=True,
        help_text=_('for tiers: [[from hour, rupees per hour], ...], e.g. [[1, "50"], [3, "100"]]'),
    )
    cap_per_outage = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(500))
    cap_per_month = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal(3000),
        help_text=_("per household, Asia/Kolkata months"),
    )
    max_gap_seconds = models.PositiveIntegerField(
        default=120,
        validators=[MaxValueValidator(MAX_GAP_LIMIT_SECONDS, MAX_GAP_TOO_LONG)],
        help_text=format_lazy(
            _(
                "longer silences are not paid; at most {limit} s and at most the silence "
                "timeout; it judges ticks taken while this version is in force"
            ),
            limit=MAX_GAP_LIMIT_SECONDS,
        ),
    )
    silence_timeout_seconds = models.PositiveIntegerField(
        default=300, help_text=_("then: lost contact")
    )
    planned_unpaid_hours = models.PositiveIntegerField(
        default=0,
        help_text=_(
            "time inside a planned cut announced in advance pays nothing for this many "
            "hours from the cut's start (Delhi: 12)"
        ),
    )
    exemptions_pay = models.BooleanField(
        default=False, help_text=_("whether time inside an exemption (a declared storm) pays")
    )
    corroboration_households = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(2)],
        help_text=_(
            "an outage is corroborated when this many households of its area (its own "
            "included) had a device off over overlapping time; a household's own devices "
            "agreeing are one voice"
        ),
    )
    corroborated_outages = models.CharField(
        max_length=16,
        choices=OutageHandling.choices,
        default=OutageHandling.REVIEW,
        help_text=_(
            "payouts made only of such outages are approved at once when this pays automatically"
        ),
    )
    uncorroborated_outages = models.CharField(
        max_length=16,
        choices=OutageHandling.choices,
        default=OutageHandling.REVIEW,
        help_text=_("too few households of the area off together, or the area's only household"),
    )
    contradicted_outages = models.CharField(
        max_length=16,
        choices=OutageHandling.choices,
        default=OutageHandling.REVIEW,
        help_text=_(
            "another device of the area (the household's own included) had power meanwhile"
        ),
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, editable=False
    )

    class Meta:
        # The table it had when the policy lived in payouts: moved without a copy.
        db_table = "payouts_policy"
        ordering = ["-effective_from"]
        verbose_name_plural = _("policies")

    def __str__(self) -> str:
        return gettext("%(name)s (from %(start)s)") % {
            "name": self.name,
            "start": f"{timezone.localtime(self.effective_from):%Y-%m-%d %H:%M}",
        }

    def parsed_tiers(self) -> tuple[tuple[Decimal, Decimal], ...]:
        return tuple(
            (Decimal(str(hour)), Decimal(str(per_hour))) for hour, per_hour in self.tiers or []
        )

    def clean(self):
        errors = {}
        if self.effective_from is not None and self.effective_from < timezone.now():
            errors["effective_from"] = STARTS_FROM_NOW
        if self.kind == PolicyKind.TIERS:
            errors.update(self._tier_errors())
        if (
            self.max_gap_seconds is not None
            and self.silence_timeout_seconds is not None
            and self.max_gap_seconds > self.silence_timeout_seconds
        ):
            errors["max_gap_seconds"] = MAX_GAP_PAST_SILENCE
        if errors:
            raise ValidationError(errors)

    def _tier_errors(self) -> dict[str, str]:
        try:
            tiers = self.parsed_tiers()
        except (TypeError, ValueError, ArithmeticError):
            return {"tiers": gettext("Give [[from hour, rupees per hour], ...].")}
        if not tiers:
            return {"tiers": gettext("A tiered policy needs at least one tier.")}
        hours = [hour for hour, _ in tiers]
        if hours != sorted(set(hours)) or any(h < 0 for h in hours) or any(r < 0 for _, r in tiers):
            return {"tiers": gettext("Hours must ascend from 0 and amounts be positive.")}
        return {}

    def terms(self, *, baseline: bool = False) -> Terms:
        """The version as plain values for the money.

        Forward only, whatever was stored: a version applies to no time before it was
        saved (the admin and clean() refuse such a start; this holds for any other way
        in). The `baseline`, the first version, applies before any other, as stored.
        """
        return Terms(
            id=self.pk,
            effective_from=(
                self.effective_from if baseline else max(self.effective_from, self.created_at)
            ),
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
