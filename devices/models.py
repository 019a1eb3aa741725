from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Area(models.Model):
    """A feeder, substation or locality: the unit a cut is corroborated over."""

    code = models.CharField(max_length=32, unique=True, help_text="For example TN-CHN-042")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})" if self.name and self.name != self.code else self.code


class PowerState(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    ON = "on", "Power on"
    OFF = "off", "Power off"


class Device(models.Model):
    """A mains sensor in a household, authenticated by a bearer token."""

    household = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="devices"
    )
    name = models.CharField(max_length=100)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="devices")
    monthly_units = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="kWh per month this connection draws",
    )
    tariff = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text="Rupees per kWh",
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
