"""Sending what the scan queued: each delivery claimed by a conditional update, sent once,
retried with backoff a few times when it fails, and the failure kept in words (no secret).

A delivery caught mid-send by a crash is not sent again (it may have gone): no household
gets two of one message. Quiet hours hold a household's messages until they end; the
board's area alerts are urgent and ignore them (they are staff's work, and an area out
for long is what they must act on now).
"""

from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.utils import timezone

from alerts import messages, webhooks
from alerts.models import Channel, Delivery, DeliveryState, EventKind, Preferences
from alerts.quiet import quiet_until

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Wait after the n-th failed attempt: 1 min, 5 min, 30 min, 2 h.
BACKOFF = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)]
# A delivery claimed this long ago and still sending was interrupted (a worker killed).
STUCK_AFTER = timedelta(minutes=10)
BATCH = 200
# A run stops claiming more after this long (slow receivers): the worker that runs it also
# runs the accrual every second, and the next run, 15 s on, takes the rest.
SEND_BUDGET_SECONDS = 10.0
URGENT = {EventKind.AREA_OUT}


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    held: int = 0
    skipped: int = 0


class DeliveryFailed(Exception):
    """Why a delivery failed, in words safe to keep."""


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def held_until(delivery: Delivery, prefs: Preferences, now: datetime) -> datetime | None:
    """When the recipient's quiet hours holding `now` end (None: not held)."""
    if delivery.event.kind in URGENT or (quiet := prefs.quiet_hours()) is None:
        return None
    return quiet_until(now, *quiet)


def still_wanted(delivery: Delivery, prefs: Preferences) -> str:
    """'' if the recipient still wants this message by this channel; else why not."""
    if not delivery.recipient.is_active:
        return "The account is no longer active."
    if not prefs.wants(delivery.event.kind):
        return "This kind of news was turned off before it was sent."
    if delivery.channel == Channel.EMAIL and not (prefs.by_email and delivery.recipient.email):
        return "Email was turned off (or the address removed) before it was sent."
    if delivery.channel == Channel.WEBHOOK and not (prefs.by_webhook and prefs.webhook_url):
        return "The webhook was turned off before it was sent."
    return ""


def send_due(now: datetime | None = None) -> SendResult:
    """Send every delivery due now (a batch at most), holding those in quiet hours."""
    now = now or timezone.now()
    result = SendResult()
    _give_up_interrupted(now)
    due = list(
        Delivery.objects.filter(state=DeliveryState.PENDING, not_before__lte=now)
        .select_related("event", "event__device", "event__area", "event__payout", "recipient")
        .order_by("not_before", "event__happened_at", "pk")[:BATCH]
    )
    prefs = {
        p.household_id: p
        for p in Preferences.objects.filter(household_id__in={d.recipient_id for d in due})
    }
    deadline = time.monotonic() + SEND_BUDGET_SECONDS
    for delivery in due:
        if time.monotonic() > deadline:
            break
        pref = prefs.get(delivery.recipient_id) or Preferences(household_id=delivery.recipient_id)
        if why_not := still_wanted(delivery, pref):
            result.skipped += Delivery.objects.filter(
                pk=delivery.pk, state=DeliveryState.PENDING
            ).update(state=DeliveryState.SKIPPED, error=why_not)
            continue
        if (until := held_until(delivery, pref, now)) is not None:
            result.held += Delivery.objects.filter(
                pk=delivery.pk, state=DeliveryState.PENDING
            ).update(not_before=until)
            continue
        outcome = send_one(delivery, pref, now)
        if outcome == DeliveryState.SENT:
            result.sent += 1
        elif outcome is not None:
            result.failed += 1
    return result


def send_one(delivery: Delivery, prefs: Preferences, now: datetime) -> str | None:
    """Claim, send, record. The state it ended in; None if another run had claimed it."""
    # Still due: another run may have put it back for later (a failure's backoff) since.
    claimed = Delivery.objects.filter(
        pk=delivery.pk, state=DeliveryState.PENDING, not_before__lte=now
    ).update(state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return None
    attempts = delivery.attempts + 1
    try:
        if delivery.channel == Channel.EMAIL:
            _email(delivery)
        else:
            _webhook(delivery, prefs, now)
    except DeliveryFailed as failure:
        return _failed(delivery, attempts, str(failure), now)
    except Exception:  # a bug, not the receiver: kept in the log, retried like a failure
        log.exception("alert delivery %s failed unexpectedly", delivery.pk)
        return _failed(delivery, attempts, "Unexpected error (see the server's log).", now)
    Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
        state=DeliveryState.SENT, sent_at=timezone.now(), error=""
    )
    return DeliveryState.SENT


def _failed(delivery: Delivery, attempts: int, error: str, now: datetime) -> str:
    error = f"Attempt {attempts}: {error}"[:300]
    if attempts >= MAX_ATTEMPTS:
        state, changes = DeliveryState.FAILED, {}
    else:
        state, changes = DeliveryState.PENDING, {"not_before": now + backoff(attempts)}
    Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
        state=state, error=error, **changes
    )
    return state


def _give_up_interrupted(now: datetime) -> None:
    Delivery.objects.filter(state=DeliveryState.SENDING, claimed_at__lt=now - STUCK_AFTER).update(
        state=DeliveryState.FAILED,
        error="Interrupted while sending: not sent again, as it may have gone.",
    )


def _email(delivery: Delivery) -> None:
    message = messages.compose(delivery.event, delivery.recipient)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        to=[delivery.recipient.email],
        headers={"Auto-Submitted": "auto-generated", "X-Celc-Event": delivery.event.kind},
        connection=get_connection(fail_silently=False),
    )
    email.attach_alternative(message.html, "text/html")
    try:
        email.send()
    except smtplib.SMTPResponseException as error:
        # The code, not the server's text: it may quote what it was sent.
        raise DeliveryFailed(f"The mail server refused it (SMTP {error.smtp_code}).") from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryFailed("The mail server refused the address.") from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryFailed(f"Could not reach the mail server ({type(error).__name__}).") from None


def _webhook(delivery: Delivery, prefs: Preferences, now: datetime) -> None:
    body = messages.payload(delivery.event, delivery.recipient, delivery.pk, now)
    try:
        webhooks.post(
            prefs.webhook_url,
            prefs.webhook_secret,
            body,
            event_type=delivery.event.kind,
            delivery_id=delivery.pk,
        )
    except webhooks.WebhookFailed as failure:
        raise DeliveryFailed(str(failure)) from None
