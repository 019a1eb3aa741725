"""Writes about devices: registration and tokens."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from devices import tokens
from devices.models import Area, Device, Outage, OutageStatus, SupplyChange


def area_get_or_create(*, code: str, name: str = "") -> Area:
    area, _ = Area.objects.get_or_create(code=code, defaults={"name": name or code})
    return area


@transaction.atomic
def device_register(
    *, household, name: str, area_code: str, monthly_units: Decimal, tariff: Decimal
) -> tuple[Device, str]:
    """Create a device and return it with its token, which is never stored."""
    token = tokens.mint_token()
    device = Device(
        household=household,
        name=name,
        area=area_get_or_create(code=area_code),
        monthly_units=monthly_units,
        tariff=tariff,
        token_hash=tokens.hash_token(token),
        token_prefix=tokens.visible_prefix(token),
    )
    # The admin's pickers offer households only; a script may give a staff account a device.
    device.full_clean(exclude=["household"])
    device.save()
    return device, token


@transaction.atomic
def device_change_supply(
    *, device: Device, monthly_units: Decimal, tariff: Decimal, by=None, now=None
) -> bool:
    """Change a device's units and tariff from now on; time already witnessed keeps the old.

    Returns whether anything changed.
    """
    now = now or timezone.now()
    current = Device.objects.select_for_update().get(pk=device.pk)
    if (current.monthly_units, current.tariff) == (monthly_units, tariff):
        return False
    if not current.supply_changes.exists():
        SupplyChange.objects.create(
            device=current,
            effective_from=current.registered_at,
            monthly_units=current.monthly_units,
            tariff=current.tariff,
        )
    SupplyChange.objects.create(
        device=current,
        effective_from=now,
        monthly_units=monthly_units,
        tariff=tariff,
        changed_by=by,
    )
    Device.objects.filter(pk=device.pk).update(monthly_units=monthly_units, tariff=tariff)
    device.monthly_units, device.tariff = monthly_units, tariff
    return True


def device_regenerate_token(*, device: Device) -> str:
    token = tokens.mint_token()
    Device.objects.filter(pk=device.pk).update(
        token_hash=tokens.hash_token(token),
        token_prefix=tokens.visible_prefix(token),
        credentials_changed_at=timezone.now(),
    )
    device.refresh_from_db()
    return token


def device_revoke(*, device: Device) -> None:
    now = timezone.now()
    Device.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
        revoked_at=now, credentials_changed_at=now
    )
    device.refresh_from_db()


def bearer_token(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header value, or ''."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def device_for_token(token: str) -> Device | None:
    """The live device a bearer token belongs to, or None."""
    if not token.startswith(tokens.TOKEN_MARK):
        return None
    device = Device.objects.filter(
        token_hash=tokens.hash_token(token), revoked_at__isnull=True
    ).first()
    if device is None or not tokens.token_matches(token, device.token_hash):
        return None
    return device


def outages_mark_lost_contact(now=None) -> int:
    """Mark ongoing outages whose device fell silent past the timeout: lost contact.

    Ticks arriving again (a replay of the device's buffer) make them ongoing again.
    """
    from policy.evidence import evidence_rules

    now = now or timezone.now()
    silent_since = now - evidence_rules().silence_timeout
    return Outage.objects.filter(
        status=OutageStatus.ONGOING, device__last_seen_at__lt=silent_since
    ).update(status=OutageStatus.LOST_CONTACT, updated_at=now)
