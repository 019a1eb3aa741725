"""What alerts keep: each event found once (a unique key), each message to send as a row
per (event, recipient, channel), each household's preferences, and the watermark before
which nothing is told.

An `AlertEvent` is both the record of what happened and, through its `Delivery` rows,
the queue of messages (healthchecks' Flip): rerunning the scan finds the same keys and
makes nothing new; a delivery is claimed by a conditional update before it is sent.
"""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.fields import ExactDecimalField


class EventKind(models.TextChoices):
    DEVICE_SILENT = "device_silent", _("Device stopped reporting")
    DEVICE_BACK = "device_back", _("Device reporting again")
    CUT_ENDED = "cut_ended", _("Cut ended")
    PAYOUT_APPROVED = "payout_approved", _("Payout approved")
    PAYOUT_PAID = "payout_paid", _("Payout paid")
    AREA_OUT = "area_out", _("Area out too long")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBHOOK = "webhook", _("Webhook")


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")


class AlertEvent(models.Model):
    """Something a person is told about, found once: `key` names it (kind and what it is
    about), so a rerun of the scan, or two at once, cannot make a second."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    # The household it is about; none for an area's (told to board staff).
    household = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="alert_events",
    )
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outage = models.ForeignKey(
        "devices.Outage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payout = models.ForeignKey(
        "payouts.Payout", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    area = models.ForeignKey(
        "devices.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What the message says: the cut's earnings or the payout's amount; the silence's,
    # the cut's or the area's start; how many devices of the area are off.
    amount = ExactDecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    count = models.PositiveIntegerField(null=True, blank=True)
    happened_at = models.DateTimeField()
    found_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-found_at", "-id"]
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")
        indexes = [models.Index(fields=["kind", "found_at"])]

    def __str__(self) -> str:
        return gettext("%(kind)s at %(at)s") % {
            "kind": self.get_kind_display(),
            "at": f"{timezone.localtime(self.happened_at):%Y-%m-%d %H:%M}",
        }


class Delivery(models.Model):
    """One message of one event to one person by one channel: sent at most once.

    Claimed by `filter(state=pending).update(state=sending)`; a failure goes back to
    pending with a later `not_before`, until the attempts run out. `error` says what
    failed in words safe to show staff: never a secret, never a webhook's full URL.
    """

    event = models.ForeignKey(AlertEvent, on_delete=models.PROTECT, related_name="deliveries")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="alert_deliveries"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # The email address, or the webhook's host: where it went, with no secret in it.
    address = models.CharField(max_length=254, blank=True)
    state = models.CharField(
        max_length=8, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    # Held until then: quiet hours, or the backoff after a failure.
    not_before = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"], name="alert_delivery_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["not_before"],
                condition=models.Q(state="pending"),
                name="alert_delivery_due",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(state="sending"),
                name="alert_delivery_sending",
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(event)s to %(recipient)s by %(channel)s (%(state)s)") % {
            "event": self.event,
            "recipient": self.recipient,
            "channel": self.get_channel_display(),
            "state": self.get_state_display(),
        }


class Preferences(models.Model):
    """What a household is told, how, and when not. A household without a row gets the
    defaults below: every event by email, no webhook, no quiet hours."""

    household = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="alert_preferences",
    )
    devices = models.BooleanField(_("a device stops or starts reporting"), default=True)
    cuts = models.BooleanField(_("a cut ends, and what it earned"), default=True)
    payouts = models.BooleanField(_("a payout is approved or paid"), default=True)
    # Board staff only (the page shows it to them alone).
    areas = models.BooleanField(_("an area is out longer than the threshold"), default=True)
    by_email = models.BooleanField(_("by email"), default=True)
    by_webhook = models.BooleanField(_("by webhook"), default=False)
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    # The key of the webhook's HMAC-SHA256 signature: shown to the household once, when
    # made; never in the admin, a log or an error.
    webhook_secret = models.CharField(max_length=64, blank=True, editable=False)
    # India time; start after end crosses midnight (22:00 to 07:00).
    quiet_start = models.TimeField(_("quiet from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet until"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("alert preferences")
        verbose_name_plural = _("alert preferences")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quiet_start__isnull=True, quiet_end__isnull=True)
                | models.Q(quiet_start__isnull=False, quiet_end__isnull=False),
                name="alert_quiet_hours_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return gettext("alert preferences of %(household)s") % {"household": self.household}

    def wants(self, kind: str) -> bool:
        return {
            EventKind.DEVICE_SILENT: self.devices,
            EventKind.DEVICE_BACK: self.devices,
            EventKind.CUT_ENDED: self.cuts,
            EventKind.PAYOUT_APPROVED: self.payouts,
            EventKind.PAYOUT_PAID: self.payouts,
            EventKind.AREA_OUT: self.areas,
        }[kind]

    def quiet_hours(self) -> tuple[time, time] | None:
        if self.quiet_start is None or self.quiet_end is None:
            return None
        return self.quiet_start, self.quiet_end


class Watermark(models.Model):
    """When alerts were switched on: nothing that happened before is told (a first migrate
    on a database with years of payouts must not email everyone). One row."""

    since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.since:%Y-%m-%d %H:%M:%S}"
