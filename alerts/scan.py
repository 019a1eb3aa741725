"""Finding what happened, from the other apps' own data, and queueing who is told.

Each run recomputes the events of the last day from the source (devices, outages and
their accrual, payouts' review steps), keeps those not recorded yet, and makes one
delivery per (event, recipient, channel) that the recipient's preferences ask for. An
event's key is unique, and so is a delivery's triple: a rerun, or two runs at once,
record nothing twice. Every query is set-based: a run's cost grows with what happened,
not with a query per device or household.

Nothing before the watermark (when alerts were switched on) is told, and nothing more
than a day old: news that late is news to nobody, and the day bounds each query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from accounts.roles import BOARD_VIEW_PERMISSION
from alerts.models import (
    AlertEvent,
    Channel,
    Delivery,
    DeliveryState,
    EventKind,
    Preferences,
    Watermark,
)
from devices.models import Device, Outage, OutageStatus
from payouts.models import HistoryKind, PayoutState, PayoutTransition

# News older than this is not told (and bounds every query of the scan).
LOOKBACK = timedelta(days=1)
# A silent device coming back this long after it fell silent is still told of.
BACK_LOOKBACK = timedelta(days=30)


@dataclass
class Found:
    """An event as the scan finds it, before it is recorded."""

    key: str
    kind: str
    happened_at: datetime
    household_id: int | None = None
    device_id: int | None = None
    outage_id: int | None = None
    payout_id: int | None = None
    area_id: int | None = None
    amount: Decimal | None = None
    since: datetime | None = None
    count: int | None = None

    def as_event(self, now: datetime) -> AlertEvent:
        return AlertEvent(
            key=self.key,
            kind=self.kind,
            happened_at=self.happened_at,
            household_id=self.household_id,
            device_id=self.device_id,
            outage_id=self.outage_id,
            payout_id=self.payout_id,
            area_id=self.area_id,
            amount=self.amount,
            since=self.since,
            count=self.count,
            found_at=now,
        )


@dataclass
class ScanResult:
    events: dict[str, int] = field(default_factory=dict)  # kind -> how many new
    deliveries: int = 0


def stamp(moment: datetime) -> int:
    """A moment as whole microseconds since the epoch: part of an event's key."""
    return round(moment.timestamp() * 1_000_000)


def watermark(now: datetime) -> datetime:
    """When alerts were switched on (migration 0001 writes it; a database emptied since
    starts it again now)."""
    row, _ = Watermark.objects.get_or_create(pk=1, defaults={"since": now})
    return row.since


def silence_limit() -> timedelta:
    return timedelta(seconds=settings.DEVICE_HEARTBEAT_SECONDS * settings.DEVICE_MISSED_HEARTBEATS)


def area_out_threshold() -> timedelta:
    return timedelta(minutes=settings.CELC_ALERT_AREA_OUT_MINUTES)


def devices_silent(now: datetime, floor: datetime) -> list[Found]:
    """Devices not heard from for longer than their missed heartbeats allow, once per
    silence (a silence is named by the last time the device was heard)."""
    limit = silence_limit()
    told = AlertEvent.objects.filter(
        kind=EventKind.DEVICE_SILENT, device=OuterRef("pk"), since=OuterRef("last_seen_at")
    )
    rows = (
        Device.objects.filter(
            revoked_at__isnull=True, last_seen_at__lt=now - limit, last_seen_at__gt=floor - limit
        )
        .exclude(Exists(told))
        .values_list("pk", "household_id", "last_seen_at")
    )
    return [
        Found(
            key=f"{EventKind.DEVICE_SILENT}:{device}:{stamp(seen)}",
            kind=EventKind.DEVICE_SILENT,
            happened_at=seen + limit,
            household_id=household,
            device_id=device,
            since=seen,
        )
        for device, household, seen in rows
    ]


def devices_back(now: datetime) -> list[Found]:
    """Devices told silent that are reporting again: their latest silence only (a device
    that came back and fell silent again has a newer one), once each."""
    newer = AlertEvent.objects.filter(
        kind=EventKind.DEVICE_SILENT, device=OuterRef("device"), since__gt=OuterRef("since")
    )
    told = AlertEvent.objects.filter(
        kind=EventKind.DEVICE_BACK, device=OuterRef("device"), since=OuterRef("since")
    )
    rows = (
        AlertEvent.objects.filter(
            kind=EventKind.DEVICE_SILENT,
            found_at__gte=now - BACK_LOOKBACK,
            device__revoked_at__isnull=True,
            device__last_seen_at__gt=F("since"),
            device__last_seen_at__gte=now - silence_limit(),
        )
        .exclude(Exists(newer))
        .exclude(Exists(told))
        .values_list("device_id", "household_id", "since")
    )
    return [
        Found(
            key=f"{EventKind.DEVICE_BACK}:{device}:{stamp(since)}",
            kind=EventKind.DEVICE_BACK,
            happened_at=now,
            household_id=household,
            device_id=device,
            since=since,
        )
        for device, household, since in rows
    ]


def cuts_ended(now: datetime, floor: datetime) -> list[Found]:
    """Outages that ended and whose accrual is settled (posted in full), with what they
    earned: the sum of their ledger entries, as AccrualState keeps it beside them."""
    told = AlertEvent.objects.filter(kind=EventKind.CUT_ENDED, outage=OuterRef("pk"))
    rows = (
        Outage.objects.filter(
            status=OutageStatus.ENDED,
            updated_at__gte=now - LOOKBACK,  # indexed: bounds the scan to recent events
            ended_at__gt=floor,
            accrualstate__open=False,
            accrualstate__posted__gt=0,
        )
        .exclude(Exists(told))
        .values_list(
            "pk", "device_id", "device__household_id", "started_at", "ended_at",
            "accrualstate__posted",
        )
    )  # fmt: skip
    return [
        Found(
            key=f"{EventKind.CUT_ENDED}:{outage}",
            kind=EventKind.CUT_ENDED,
            happened_at=ended,
            household_id=household,
            device_id=device,
            outage_id=outage,
            amount=posted,
            since=started,
        )
        for outage, device, household, started, ended, posted in rows
    ]


def payout_steps(floor: datetime) -> list[Found]:
    """Payouts approved (by a reviewer or by the policy at once) and payouts paid, from
    their review history; an approval rejected since is no longer news."""
    found = []
    for kind, to_state, still in (
        (EventKind.PAYOUT_APPROVED, PayoutState.APPROVED, [PayoutState.APPROVED, PayoutState.PAID]),
        (EventKind.PAYOUT_PAID, PayoutState.PAID, [PayoutState.PAID]),
    ):
        told = AlertEvent.objects.filter(kind=kind, payout=OuterRef("payout"))
        rows = (
            PayoutTransition.objects.filter(
                kind=HistoryKind.STEP, to_state=to_state, at__gt=floor, payout__state__in=still
            )
            .exclude(Exists(told))
            .values_list("payout_id", "payout__household_id", "payout__amount", "at")
        )
        found += [
            Found(
                key=f"{kind}:{payout}",
                kind=kind,
                happened_at=at,
                household_id=household,
                payout_id=payout,
                amount=amount,
            )
            for payout, household, amount, at in rows
        ]
    return found


def areas_out_too_long(now: datetime, floor: datetime) -> list[Found]:
    """Areas out now (a device with an ongoing outage: as the board's page counts them)
    for longer than the threshold, once per stretch out: an area already told of since
    this stretch's oldest ongoing cut began is not told again."""
    threshold = area_out_threshold()
    rows = list(
        Outage.objects.filter(status=OutageStatus.ONGOING)
        .values("device__area_id")
        .annotate(off=Count("device", distinct=True), since=Min("started_at"))
        .filter(since__lte=now - threshold, since__gt=floor - threshold)
        .values_list("device__area_id", "off", "since")
    )
    if not rows:
        return []
    told = set(
        AlertEvent.objects.filter(
            kind=EventKind.AREA_OUT,
            area_id__in=[area for area, _, _ in rows],
            found_at__gte=min(since for _, _, since in rows),
        ).values_list("area_id", "found_at")
    )
    return [
        Found(
            key=f"{EventKind.AREA_OUT}:{area}:{stamp(since)}",
            kind=EventKind.AREA_OUT,
            happened_at=since + threshold,
            area_id=area,
            since=since,
            count=off,
        )
        for area, off, since in rows
        if not any(a == area and at >= since for a, at in told)
    ]


def board_staff_ids() -> list[int]:
    """Active staff accounts that may open the board's view (accounts.roles.is_board_staff),
    by their groups, their own permissions, or as superusers."""
    app_label, codename = BOARD_VIEW_PERMISSION.split(".")
    perm = {"content_type__app_label": app_label, "codename": codename}
    return list(
        User.objects.filter(is_staff=True, is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(**{f"groups__permissions__{k}": v for k, v in perm.items()})
            | Q(**{f"user_permissions__{k}": v for k, v in perm.items()})
        )
        .values_list("pk", flat=True)
        .distinct()
    )


def _deliveries(events: list[AlertEvent], now: datetime) -> list[Delivery]:
    """What each new event's recipients asked for: email (to an address they have) and
    webhook (to a URL they set), if they want that kind of news."""
    staff = board_staff_ids() if any(e.kind == EventKind.AREA_OUT for e in events) else []
    recipients = {e.household_id for e in events if e.household_id} | set(staff)
    users = {u.pk: u for u in User.objects.filter(pk__in=recipients, is_active=True)}
    prefs = {p.household_id: p for p in Preferences.objects.filter(household_id__in=recipients)}
    # "Reporting again" goes only where "stopped reporting" went (see _drop_unsent_silences).
    told_silent = _told_silent([e for e in events if e.kind == EventKind.DEVICE_BACK])
    out = []
    for event in events:
        for user_id in [event.household_id] if event.household_id else staff:
            user = users.get(user_id)
            if user is None:
                continue
            pref = prefs.get(user_id) or Preferences(household_id=user_id)
            if not pref.wants(event.kind):
                continue
            channels = []
            if pref.by_email and user.email:
                channels.append((Channel.EMAIL, user.email))
            if pref.by_webhook and pref.webhook_url:
                channels.append((Channel.WEBHOOK, urlsplit(pref.webhook_url).hostname or ""))
            for channel, address in channels:
                if event.kind == EventKind.DEVICE_BACK and (
                    (event.device_id, event.since, user_id, channel) not in told_silent
                ):
                    continue
                out.append(
                    Delivery(
                        event=event,
                        recipient_id=user_id,
                        channel=channel,
                        address=address[:254],
                        not_before=now,
                    )
                )
    return out


def _told_silent(backs: list[AlertEvent]) -> set[tuple]:
    """(device, since, recipient, channel) of the silences these devices came back from
    that were sent, or are being sent; those still held are dropped unsent."""
    if not backs:
        return set()
    silences = AlertEvent.objects.filter(
        kind=EventKind.DEVICE_SILENT,
        key__in=[f"{EventKind.DEVICE_SILENT}:{e.device_id}:{stamp(e.since)}" for e in backs],
    )
    _drop_unsent_silences(silences)
    return set(
        Delivery.objects.filter(
            event__in=silences, state__in=[DeliveryState.SENT, DeliveryState.SENDING]
        ).values_list("event__device_id", "event__since", "recipient_id", "channel")
    )


def _drop_unsent_silences(silences) -> None:
    """A device back before its household heard it fell silent (quiet hours, a retry): the
    news is stale, so neither is sent."""
    Delivery.objects.filter(event__in=silences, state=DeliveryState.PENDING).update(
        state=DeliveryState.SKIPPED, error="The device reported again before this was sent."
    )


def scan(now: datetime | None = None) -> ScanResult:
    """Record the events that happened and are not recorded yet, and their deliveries."""
    now = now or timezone.now()
    result = ScanResult()
    with transaction.atomic():
        floor = max(watermark(now), now - LOOKBACK)
        found = [
            *devices_silent(now, floor),
            *devices_back(now),
            *cuts_ended(now, floor),
            *payout_steps(floor),
            *areas_out_too_long(now, floor),
        ]
        if not found:
            return result
        # Two runs at once: the unique key lets one insert each event; both then read
        # them back and make the same deliveries, which the unique triple keeps single.
        AlertEvent.objects.bulk_create(
            [f.as_event(now) for f in found], ignore_conflicts=True, batch_size=500
        )
        events = list(AlertEvent.objects.filter(key__in=[f.key for f in found], found_at=now))
        deliveries = _deliveries(events, now)
        Delivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=500)
    for event in events:
        result.events[event.kind] = result.events.get(event.kind, 0) + 1
    result.deliveries = len(deliveries)
    return result
