"""Writes of the alerts app that a view asks for: a household's preferences."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from alerts import webhooks
from alerts.models import Delivery, DeliveryState, Preferences


def preferences_for(household) -> Preferences:
    """The household's preferences, or the defaults (unsaved) if it never set any."""
    return Preferences.objects.filter(household=household).first() or Preferences(
        household=household
    )


@transaction.atomic
def preferences_save(*, preferences: Preferences, new_secret: bool = False) -> str | None:
    """Save `preferences` (validated by the form); a webhook's signing secret is made when
    the webhook is first set, or when the household asks for a new one. The new secret
    is returned, to be shown this once; None when it did not change."""
    made = None
    if new_secret or (preferences.by_webhook and not preferences.webhook_secret):
        made = preferences.webhook_secret = webhooks.new_secret()
    preferences.save()
    # Messages held for quiet hours are looked at again on the next run, under the hours
    # as they are now (changed or cleared); a failure's backoff (attempts > 0) stays.
    Delivery.objects.filter(
        recipient_id=preferences.household_id,
        state=DeliveryState.PENDING,
        attempts=0,
        not_before__gt=timezone.now(),
    ).update(not_before=timezone.now())
    return made
