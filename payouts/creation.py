"""Payouts made from balances: `create_payouts`, daily (beat) or by hand (`manage.py
create_payouts`).

Each unpaid balance of at least the minimum becomes a payout of whole paise (the sub-paise
remainder stays in the balance) with its `payout` entry. Once per household per day (India):
a second run for the same day makes nothing, by a unique constraint, not by luck. The policy
judges its outages first (payouts.evidence): what it does not pay is withheld with an
`adjustment` naming them, and a payout whose outages all pay automatically, to a usable
destination, is approved at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from devices import areas
from payouts.accrual import accrue, add_to_balances
from payouts.destinations import (
    HOUSEHOLD_FIELDS,
    SET_IT_AT,
    Destination,
)
from payouts.evidence import Judgement, judge, policy_in_force
from payouts.models import (
    EntryKind,
    HouseholdBalance,
    LedgerEntry,
    Payout,
    PayoutError,
    PayoutState,
    PayoutTransition,
    RefusedOutage,
    RejectionKind,
    WithheldOutage,
    destination_snapshot,
)
from policy.compensation import MONTH_ZONE

PAISA = Decimal("0.01")


CHUNK = 500  # households per transaction when making payouts


def minimum() -> Decimal:
    return Decimal(str(settings.CELC_PAYOUT_MINIMUM))


def next_run(now: datetime) -> datetime:
    """When the daily payout run (beat, at CELC_PAYOUT_AT India time) next makes payouts."""
    hour, minute = (int(part) for part in settings.CELC_PAYOUT_AT.split(":"))
    local = now.astimezone(MONTH_ZONE)
    run = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return run if run > local else (run + timedelta(days=1)).replace(hour=hour, minute=minute)


def create_payouts(now: datetime | None = None, at_least: Decimal | None = None) -> list[Payout]:
    """A payout awaiting review for every household whose balance is at least the minimum."""
    now = now or timezone.now()
    at_least = minimum() if at_least is None else at_least
    if at_least < PAISA:
        raise PayoutError("The minimum payout must be at least one paisa.")
    # The ledger posts ongoing outages at checkpoints: first post everything owed now,
    # so that no payout pays less than the household is owed at its moment.
    accrue(now, everything=True)
    period = now.astimezone(MONTH_ZONE).date()
    candidates = _candidates(at_least, period)
    created: list[Payout] = []
    for start in range(0, len(candidates), CHUNK):
        with transaction.atomic():
            created.extend(_make(candidates[start : start + CHUNK], now, period, at_least))
    return created


def _candidates(at_least: Decimal, period: date) -> list[int]:
    """The households with a balance of at least `at_least` and no payout for `period` yet."""
    return list(
        HouseholdBalance.objects.filter(amount__gte=at_least)
        .exclude(household__payouts__period=period)
        .order_by("household_id")
        .values_list("household_id", flat=True)
    )


@dataclass
class _Households:
    """What deciding some households' payouts needs, read with their balances locked."""

    balances: dict[int, Decimal]
    done: set[int]  # a payout for the period already (another run got in first)
    previous: dict[int, datetime]  # each one's last payout, where the next one's window begins
    returned: dict[int, list[Payout]]  # rejected with *return*, not yet paid again
    refused: dict[int, dict[int, RefusedOutage]]
    destinations: dict[int, Destination]


def _read(household_ids: list[int], period: date) -> _Households:
    # Lock the balances (the accrual adds to them meanwhile), then look
    # again: another run may have made this day's payouts while we waited.
    balances = dict(
        HouseholdBalance.objects.select_for_update()
        .filter(household_id__in=household_ids)
        .order_by("household_id")
        .values_list("household_id", "amount")
    )
    done = set(
        Payout.objects.filter(household_id__in=household_ids, period=period).values_list(
            "household_id", flat=True
        )
    )
    # A payout rejected with *return* is no boundary: its money and its outages
    # are the next payout's.
    previous = dict(
        Payout.objects.filter(household_id__in=household_ids)
        .exclude(rejection=RejectionKind.RETURN)
        .values("household_id")
        .annotate(last=Max("created_at"))
        .values_list("household_id", "last")
    )
    # Returned to the balance and not yet paid again: the money is in the
    # balances just locked (the rejection adds it in the same transaction).
    returned: dict[int, list[Payout]] = defaultdict(list)
    for rejected in Payout.objects.filter(
        household_id__in=household_ids, rejection=RejectionKind.RETURN, carried_by__isnull=True
    ).order_by("created_at", "pk"):
        returned[rejected.household_id].append(rejected)
    refused: dict[int, dict[int, RefusedOutage]] = defaultdict(dict)
    for refusal in RefusedOutage.objects.filter(
        payout__household_id__in=household_ids
    ).select_related("payout"):
        refused[refusal.payout.household_id][refusal.outage_id] = refusal
    destinations = {
        household.pk: household.payout_destination()
        for household in get_user_model()
        .objects.filter(pk__in=household_ids)
        .only("pk", *HOUSEHOLD_FIELDS)
    }
    return _Households(balances, done, previous, returned, refused, destinations)


def _make(household_ids: list[int], now: datetime, period: date, at_least: Decimal):
    """The payouts of some households, decided and stored in the caller's transaction."""
    read = _read(household_ids, period)
    policy = policy_in_force(now)
    households_per_area = areas.households_per_area()
    decided = []
    for household_id in household_ids:
        balance = read.balances.get(household_id, Decimal(0))
        if household_id in read.done or balance.quantize(PAISA, ROUND_DOWN) < at_least:
            continue
        judged = judge(
            household_id,
            read.previous.get(household_id),
            now,
            policy,
            households_per_area,
            carried=read.returned.get(household_id, ()),
            refused=read.refused[household_id],
        )
        amount = (balance - judged.withheld).quantize(PAISA, ROUND_DOWN)
        if amount < at_least:
            continue  # judged again at the next run, with the same outages
        payout = Payout(
            household_id=household_id,
            amount=amount,
            period=period,
            covers_from=read.previous.get(household_id),
            created_at=now,
            left_in_balance=balance - judged.withheld - amount,
        )
        _approve_if_the_policy_pays(payout, judged, read.destinations[household_id], now)
        decided.append((payout, judged))
    _store(decided, now)
    return [payout for payout, _ in decided]


def _approve_if_the_policy_pays(
    payout: Payout, judged: Judgement, destination: Destination, now: datetime
) -> None:
    if judged.approve and not destination.ready():
        # The policy would pay it at once, but to nowhere: it waits.
        judged.approve = False
        judged.flags.append(
            f"{destination.unusable_because()}: awaiting review until the "
            f"household sets one at {SET_IT_AT}"
        )
    payout.flags = "\n".join(judged.flags)
    if judged.approve:
        payout.state, payout.decided_at = PayoutState.APPROVED, now
        for name, value in destination_snapshot(destination).items():
            setattr(payout, name, value)


def _store(decided: list[tuple[Payout, Judgement]], now: datetime) -> None:
    """The payouts, what they carry and withhold, their ledger entries and the policy's
    approvals, and the balances less what they pay and withhold."""
    new = [payout for payout, _ in decided]
    Payout.objects.bulk_create(new)
    Payout.carries.through.objects.bulk_create(
        Payout.carries.through(from_payout_id=p.pk, to_payout_id=r.pk)
        for p, judged in decided
        for r in judged.carries
    )
    WithheldOutage.objects.bulk_create(
        WithheldOutage(payout=p, outage_id=outage_id, amount=amount)
        for p, judged in decided
        for outage_id, amount in judged.withheld_by_outage.items()
    )
    entries = [
        LedgerEntry(
            household_id=p.household_id,
            kind=EntryKind.PAYOUT,
            amount=-p.amount,
            payout=p,
            created_at=now,
            note=f"Payout #{p.pk}",
        )
        for p in new
    ]
    entries += [
        LedgerEntry(
            household_id=p.household_id,
            kind=EntryKind.ADJUSTMENT,
            amount=-judged.withheld,
            payout=p,
            created_at=now,
            note=f"Not paid, with payout #{p.pk}: " + "; ".join(judged.withheld_notes),
        )
        for p, judged in decided
        if judged.withheld
    ]
    LedgerEntry.objects.bulk_create(entries)
    PayoutTransition.objects.bulk_create(
        PayoutTransition(
            payout=p,
            from_state=PayoutState.AWAITING,
            to_state=PayoutState.APPROVED,
            by=None,
            at=now,
            note="Approved by the policy: " + "; ".join(p.flags.splitlines()),
        )
        for p in new
        if p.state == PayoutState.APPROVED
    )
    changes: dict[int, Decimal] = defaultdict(Decimal)
    for entry in entries:
        changes[entry.household_id] += entry.amount
    add_to_balances(dict(changes))
