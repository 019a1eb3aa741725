from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.money import rupees


class Area(models.Model):
    """A feeder, substation or locality: the unit a cut is corroborated over."""

    code = models.CharField(max_length=32, unique=True, help_text=_("For example TN-CHN-042"))
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})" if self.name and self.name != self.code else self.code


class PowerState(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    ON = "on", _("Power on")
    OFF = "off", _("Power off")


class Device(models.Model):
    """A mains sensor in a household, authenticated by a bearer token."""

    # Pickers list households: staff accounts get a device only from the command line.
    household = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="devices",
        limit_choices_to={"is_staff": False, "is_active": True},
    )
    name = models.CharField(max_length=100)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="devices")
    monthly_units = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("kWh per month this connection draws"),
    )
    tariff = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text=_("Rupees per kWh"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=16, editable=False)
    registered_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seen_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_seq = models.BigIntegerField(null=True, blank=True, editable=False)
    power_state = models.CharField(
        max_length=8, choices=PowerState.choices, default=PowerState.UNKNOWN, editable=False
    )
    # Effective time of the last applied tick: the device clock, never moving back.
    last_tick_at = models.DateTimeField(null=True, blank=True, editable=False)
    current_outage = models.ForeignKey(
        "Outage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Set when the token is regenerated or revoked: servers close the old connections.
    credentials_changed_at = models.DateTimeField(
        null=True, blank=True, editable=False, db_index=True
    )

    class Meta:
        ordering = ["household_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_units__gt=0), name="device_monthly_units_positive"
            ),
            models.CheckConstraint(condition=models.Q(tariff__gt=0), name="device_tariff_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.household})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def connection_state(self, now=None) -> str:
        """on, off, offline (missed its heartbeats), lost (silent during a cut) or unknown."""
        return connection_state(self.power_state, self.last_seen_at, now or timezone.now())


def connection_state(power_state: str, last_seen_at, now) -> str:
    """What a device is doing, from its last tick's power and when it was last heard."""
    if last_seen_at is None:
        return "unknown"
    silent = (now - last_seen_at).total_seconds()
    if power_state == PowerState.OFF:
        from policy.evidence import evidence_rules

        return "lost" if silent > evidence_rules().silence_timeout.total_seconds() else "off"
    limit = settings.DEVICE_HEARTBEAT_SECONDS * settings.DEVICE_MISSED_HEARTBEATS
    return "offline" if silent > limit else "on"


class OutageStatus(models.TextChoices):
    ONGOING = "ongoing", _("Ongoing")
    ENDED = "ended", _("Ended")
    LOST_CONTACT = "lost_contact", _("Lost contact")


class Outage(models.Model):
    """A cut as one device witnessed it, derived from its ticks (devices.outages)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="outages")
    status = models.CharField(max_length=16, choices=OutageStatus.choices, db_index=True)
    started_at = models.DateTimeField(help_text=_("ts of the first off tick"))
    ended_at = models.DateTimeField(null=True, blank=True, help_text=_("ts of the on tick"))
    last_tick_at = models.DateTimeField()
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    witnessed_seconds = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    ticks_received = models.PositiveIntegerField(default=0)
    gaps = models.PositiveIntegerField(default=0, help_text=_("silences longer than max_gap"))
    max_gap_seconds = models.DecimalField(
        max_digits=14, decimal_places=6, default=0, help_text=_("longest unpaid silence")
    )
    # The witnessed interval still growing runs from here to last_tick_at.
    open_interval_start = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-started_at"]
        # No index may name a column that every tick moves (last_tick_at, last_seq,
        # witnessed_seconds, ticks_received): PostgreSQL then updates an ongoing outage in
        # place (a HOT update, migration 0008), with no new index entries and no bloat a
        # second per outage. Events (status, updated_at) are rare enough to index.
        indexes = [models.Index(fields=["device", "started_at"])]

    def __str__(self) -> str:
        start = timezone.localtime(self.started_at)
        return gettext("%(device)s: cut of %(start)s (%(status)s)") % {
            "device": self.device.name,
            "start": f"{start:%Y-%m-%d %H:%M:%S}",
            "status": self.get_status_display().lower(),
        }

    def intervals(self) -> list[tuple]:
        """Every witnessed interval, the growing one included."""
        rows = [(i.started_at, i.ended_at) for i in self.witnessed_intervals.all()]
        if self.open_interval_start is not None and self.last_tick_at > self.open_interval_start:
            rows.append((self.open_interval_start, self.last_tick_at))
        return rows


class WitnessedInterval(models.Model):
    """A closed stretch of an outage with ticks at most max_gap apart: paid time."""

    outage = models.ForeignKey(Outage, on_delete=models.PROTECT, related_name="witnessed_intervals")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()

    class Meta:
        ordering = ["outage_id", "started_at"]
        constraints = [
            models.UniqueConstraint(fields=["outage", "started_at"], name="interval_unique_start"),
            models.CheckConstraint(
                condition=models.Q(ended_at__gt=models.F("started_at")), name="interval_positive"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(start)s to %(end)s") % {
            "start": f"{self.started_at:%H:%M:%S}",
            "end": f"{self.ended_at:%H:%M:%S}",
        }


class CutKind(models.TextChoices):
    PLANNED = "planned", _("Planned cut")
    EXEMPTION = "exemption", _("Exemption (for example a declared storm)")


class PlannedCut(models.Model):
    """A window the board announced for an area: a planned cut or an exemption.

    How time inside it pays is the policy's rule (`planned_unpaid_hours`,
    `exemptions_pay`). It applies forward only: it must be announced before it
    starts, and once started it cannot be changed or withdrawn.
    """

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="planned_cuts")
    kind = models.CharField(max_length=16, choices=CutKind.choices, default=CutKind.PLANNED)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    announced_at = models.DateTimeField(default=timezone.now, editable=False)
    announced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, editable=False
    )

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="planned_cut_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=models.Q(starts_at__gte=models.F("announced_at")),
                name="planned_cut_announced_before_it_starts",
            ),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return gettext("%(kind)s in %(area)s from %(start)s") % {
            "kind": self.get_kind_display(),
            "area": self.area.code,
            "start": f"{start:%Y-%m-%d %H:%M}",
        }

    @property
    def started(self) -> bool:
        return self.pk is not None and self.starts_at <= timezone.now()

    def clean(self):
        from django.core.exceptions import ValidationError

        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = gettext("It must end after it starts.")
        if self.starts_at and self.starts_at < timezone.now():
            errors["starts_at"] = gettext(
                "A planned cut or exemption applies forward only: it must start after it is "
                "announced (now)."
            )
        if errors:
            raise ValidationError(errors)


class SupplyChange(models.Model):
    """A device's units and tariff from a moment on: like the policy, they apply forward only.

    Written when an installer changes them (devices.services.device_change_supply),
    with the values before the first change kept as the version from registration.
    The device's own `monthly_units` and `tariff` are always the latest version.
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="supply_changes")
    effective_from = models.DateTimeField(db_index=True)
    monthly_units = models.DecimalField(max_digits=10, decimal_places=2)
    tariff = models.DecimalField(max_digits=8, decimal_places=4)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["device_id", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "effective_from"], name="supply_change_once_a_moment"
            )
        ]

    def __str__(self) -> str:
        return gettext("%(device)s: %(units)s kWh, %(tariff)s from %(start)s") % {
            "device": self.device,
            "units": self.monthly_units,
            "tariff": rupees(self.tariff, exact=True),
            "start": self.effective_from,
        }


class PowerOnSpan(models.Model):
    """A stretch during which a device kept saying its power was on (heartbeats, on ticks).

    Heartbeats less than `DEVICE_HEARTBEAT_SECONDS x DEVICE_MISSED_HEARTBEATS`
    apart, with no off tick between them, extend one span. What contradicts a
    neighbour's outage (devices/reliability.py).
    """

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="power_on_spans")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["device", "ended_at"], name="power_on_device_end")]

    def __str__(self) -> str:
        return gettext("%(device)s on %(start)s to %(end)s") % {
            "device": self.device,
            "start": f"{self.started_at:%Y-%m-%d %H:%M:%S}",
            "end": f"{self.ended_at:%H:%M:%S}",
        }
