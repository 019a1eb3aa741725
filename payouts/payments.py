"""How money leaves: payouts made from balances, their review, their evidence, their export.

Plain functions; the task, the admin and the dashboard call them.

- `create_payouts` turns each unpaid balance of at least the minimum into a
  payout of whole paise (the sub-paise remainder stays in the balance) and
  posts its `payout` entry. Once per household per day (India): a second
  run for the same day makes nothing, by a unique constraint, not by luck.
- `transition` moves a payout along the only transitions there are
  (`payouts.models.TRANSITIONS`), recording who, when, from, to and the
  note; a rejection posts a `reversal` that brings the money back.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from celc.spreadsheet import safe_cell
from devices import areas
from devices.models import Outage, PlannedCut, PowerOnSpan
from devices.reliability import OnReport, Span, corroboration
from payouts.accrual import add_to_balances, current_policies, facts_for
from payouts.compensation import MONTH_ZONE, unpaid_windows
from payouts.models import (
    TRANSITIONS,
    EntryKind,
    HouseholdBalance,
    LedgerEntry,
    OutageRule,
    Payout,
    PayoutState,
    PayoutTransition,
    Policy,
)

PAISA = Decimal("0.01")
CHUNK = 500  # households per transaction when making payouts


class PayoutError(ValueError):
    """A payout step that cannot be taken, with why, in words for the reviewer."""


def minimum() -> Decimal:
    return Decimal(str(settings.CELC_PAYOUT_MINIMUM))


def create_payouts(now: datetime | None = None, at_least: Decimal | None = None) -> list[Payout]:
    """A payout awaiting review for every household whose balance is at least the minimum."""
    now = now or timezone.now()
    at_least = minimum() if at_least is None else at_least
    if at_least < PAISA:
        raise PayoutError("The minimum payout must be at least one paisa.")
    period = now.astimezone(MONTH_ZONE).date()
    candidates = list(
        HouseholdBalance.objects.filter(amount__gte=at_least)
        .exclude(household__payouts__period=period)
        .order_by("household_id")
        .values_list("household_id", flat=True)
    )
    created: list[Payout] = []
    for start in range(0, len(candidates), CHUNK):
        chunk = candidates[start : start + CHUNK]
        with transaction.atomic():
            # Lock the balances (the accrual adds to them meanwhile), then look
            # again: another run may have made this day's payouts while we waited.
            balances = dict(
                HouseholdBalance.objects.select_for_update()
                .filter(household_id__in=chunk)
                .order_by("household_id")
                .values_list("household_id", "amount")
            )
            done = set(
                Payout.objects.filter(household_id__in=chunk, period=period).values_list(
                    "household_id", flat=True
                )
            )
            rules = rules_in_force(now)
            devices = areas.devices_per_area()
            previous = dict(
                Payout.objects.filter(household_id__in=chunk)
                .values("household_id")
                .annotate(last=Max("created_at"))
                .values_list("household_id", "last")
            )
            new, withheld = [], {}
            for household_id in chunk:
                balance = balances.get(household_id, Decimal(0))
                if household_id in done or balance.quantize(PAISA, ROUND_DOWN) < at_least:
                    continue
                judged = judge(household_id, previous.get(household_id), now, rules, devices)
                amount = (balance - judged.withheld).quantize(PAISA, ROUND_DOWN)
                if amount < at_least:
                    continue  # judged again at the next run, with the same outages
                payout = Payout(
                    household_id=household_id,
                    amount=amount,
                    period=period,
                    covers_from=previous.get(household_id),
                    created_at=now,
                    flags="\n".join(judged.flags),
                )
                if judged.approve:
                    payout.state, payout.decided_at = PayoutState.APPROVED, now
                new.append(payout)
                if judged.withheld:
                    withheld[household_id] = judged
            Payout.objects.bulk_create(new)
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
                    amount=-withheld[p.household_id].withheld,
                    payout=p,
                    created_at=now,
                    note=f"Not paid by policy, with payout #{p.pk}: "
                    + "; ".join(withheld[p.household_id].withheld_notes),
                )
                for p in new
                if p.household_id in withheld
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
            created.extend(new)
    return created


@dataclass
class Judgement:
    """What the policy's corroboration rules say of a payout's outages."""

    approve: bool = True  # every outage's rule pays automatically
    withheld: Decimal = Decimal(0)  # owed for outages the policy does not pay
    withheld_notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


RULE_OF_VERDICT = {
    "corroborated": "corroborated_outages",
    "uncorroborated": "uncorroborated_outages",
    "single device": "uncorroborated_outages",
    "contradicted": "contradicted_outages",
}


def rules_in_force(now: datetime) -> Policy | None:
    return Policy.objects.filter(effective_from__lte=now).order_by("-effective_from").first()


def judge(
    household_id: int,
    covers_from,
    now: datetime,
    policy: Policy | None,
    devices: dict[str, int],
) -> Judgement:
    """Each outage a payout would pay for, by what its area says and the policy's rule for it.

    A payout is approved at once only when every outage's rule pays automatically;
    outages whose rule is not to pay are withheld (taken from the balance with a
    ledger entry naming them) and the rest is paid.
    """
    window = Q(household_id=household_id, kind=EntryKind.ACCRUAL, created_at__lte=now)
    if covers_from is not None:
        window &= Q(created_at__gt=covers_from)
    amounts = {
        outage_id: Decimal(str(total)).quantize(Decimal("0.000001"))
        for outage_id, total in LedgerEntry.objects.filter(window)
        .order_by()
        .values("outage_id")
        .annotate(total=Sum("amount"))
        .values_list("outage_id", "total")
    }
    judged = Judgement()
    if not amounts:
        return Judgement(approve=False)
    k = policy.corroboration_devices if policy else DEFAULT_CORROBORATION_DEVICES
    outages = Outage.objects.filter(pk__in=list(amounts)).select_related("device__area")
    for outage in sorted(outages, key=lambda o: o.started_at):
        end = outage.ended_at or outage.last_tick_at
        verdict = area_verdict(outage, end, k, devices.get(outage.device.area.code, 1))
        rule = getattr(policy, RULE_OF_VERDICT[verdict]) if policy else OutageRule.REVIEW
        judged.flags.append(f"outage #{outage.pk} {verdict}: {OutageRule(rule).label.lower()}")
        if rule == OutageRule.WITHHOLD:
            judged.withheld += amounts[outage.pk]
            judged.withheld_notes.append(f"outage #{outage.pk} {verdict}")
        elif rule == OutageRule.REVIEW:
            judged.approve = False
    return judged


def transition(payout_id: int, to: str, by, note: str = "") -> Payout:
    """Move one payout to `to`; a rejection needs a reason, marking paid a reference.

    Safe under concurrency: the row is locked and the move is a compare-and-set
    on its state, and each step out of a state is unique in the database, so
    of two reviewers doing the same thing at once one wins and the other is told.
    """
    to = PayoutState(to)
    note = note.strip()
    if to == PayoutState.REJECTED and not note:
        raise PayoutError("Give a reason for the rejection.")
    if to == PayoutState.PAID and not note:
        raise PayoutError("Give the payment's reference (bank, UPI or bill credit).")
    now = timezone.now()
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        was = PayoutState(payout.state)
        if to not in TRANSITIONS[was]:
            raise PayoutError(
                f"Payout #{payout.pk} is {was.label.lower()}: it cannot be {verb(to)}."
            )
        changes: dict = {"state": to}
        if to in (PayoutState.APPROVED, PayoutState.REJECTED):
            changes.update(decided_at=now, decided_by=by)
        if to == PayoutState.REJECTED:
            changes["reason"] = note
        if to == PayoutState.PAID:
            changes.update(paid_at=now, paid_by=by, reference=note)
        if Payout.objects.filter(pk=payout.pk, state=was).update(**changes) != 1:
            raise PayoutError(f"Payout #{payout.pk} was changed meanwhile: look again.")
        PayoutTransition.objects.create(
            payout=payout, from_state=was, to_state=to, by=by, at=now, note=note
        )
        if to == PayoutState.REJECTED:
            LedgerEntry.objects.create(
                household_id=payout.household_id,
                kind=EntryKind.REVERSAL,
                amount=payout.amount,
                payout=payout,
                created_at=now,
                note=f"Payout #{payout.pk} rejected: {note}",
            )
            add_to_balances({payout.household_id: payout.amount})
        payout.refresh_from_db()
        return payout


def verb(state: PayoutState) -> str:
    return {
        PayoutState.APPROVED: "approved",
        PayoutState.REJECTED: "rejected",
        PayoutState.PAID: "marked paid",
        PayoutState.AWAITING: "put back for review",
    }[state]


def evidence(payout: Payout) -> dict:
    """What a payout pays for: its outages, their witnessed time and amounts, the policy
    versions that applied, and the other outages in the same area at the same time."""
    window = Q(household_id=payout.household_id, kind=EntryKind.ACCRUAL)
    window &= Q(created_at__lte=payout.created_at)
    if payout.covers_from is not None:
        window &= Q(created_at__gt=payout.covers_from)
    amounts = {
        # Quantized: SQLite sums decimals in floating point.
        outage_id: total.quantize(Decimal("0.000001"))
        for outage_id, total in LedgerEntry.objects.filter(window)
        .order_by()
        .values("outage_id")
        .annotate(total=Sum("amount"))
        .values_list("outage_id", "total")
    }
    outages = list(
        Outage.objects.filter(pk__in=list(amounts))
        .select_related("device", "device__area")
        .order_by("started_at")
    )
    policies = list(Policy.objects.order_by("effective_from"))
    devices = areas.devices_per_area()
    facts = facts_for(Q(pk__in=list(amounts)))
    money_rules = current_policies()
    rows = []
    for outage in outages:
        end = outage.ended_at or outage.last_tick_at
        applied = [
            p
            for n, p in enumerate(policies)
            if p.effective_from <= end
            and (n + 1 == len(policies) or policies[n + 1].effective_from > outage.started_at)
        ]
        neighbours = list(
            Outage.objects.filter(
                device__area=outage.device.area,
                started_at__lte=end,
                last_tick_at__gte=outage.started_at,
            )
            .exclude(device=outage.device)
            .select_related("device")
            .order_by("started_at")[:20]
        )
        k = applied[-1].corroboration_devices if applied else DEFAULT_CORROBORATION_DEVICES
        unpaid = unpaid_stretches(facts.get(outage.pk), money_rules)
        rows.append(
            {
                "outage": outage,
                "amount": amounts[outage.pk],
                "policies": applied,
                "neighbours": neighbours,
                "unpaid": unpaid,
                "corroboration": area_verdict(
                    outage, end, k, devices.get(outage.device.area.code, 1)
                ),
            }
        )
    paid_for = sum(amounts.values(), Decimal(0))
    withheld = -sum(
        payout.ledger_entries.filter(kind=EntryKind.ADJUSTMENT).values_list("amount", flat=True),
        Decimal(0),
    )
    return {
        "outages": rows,
        "outages_total": paid_for,
        "withheld": withheld,  # owed for outages the policy does not pay
        "flags": payout.flags.splitlines(),
        # What the balance held before (remainders, returned rejections), less
        # the sub-paise this payout leaves for the next one.
        "carried": payout.amount - paid_for + withheld,
        "transitions": list(payout.transitions.select_related("by")),
    }


DEFAULT_CORROBORATION_DEVICES = 2
# Supply does not come back to every house in the same second.
TOLERANCE = timedelta(seconds=60)


def unpaid_stretches(facts, policies) -> list[dict]:
    """Which announced windows left part of the outage unpaid, under which rule, how long."""
    if facts is None or not facts.windows:
        return []
    cuts = {c.pk: c for c in PlannedCut.objects.filter(pk__in=[w[3] for w in facts.windows])}
    out = []
    for start, stop, window in unpaid_windows(facts, policies):
        seconds = sum(
            max(0.0, (min(b, stop) - max(a, start)).total_seconds()) for a, b in facts.intervals
        )
        rule = policies.at(window[0])
        out.append(
            {
                "cut": cuts.get(window[3]),
                "seconds": int(seconds),
                "rule": (
                    f"first {rule.planned_unpaid_seconds // 3600} h of a planned cut unpaid"
                    if window[2] == "planned"
                    else "exemptions do not pay"
                ),
                "policy": rule.name or "default",
            }
        )
    return out


def area_verdict(outage: Outage, end, k: int, devices_in_area: int) -> str:
    """What the outage's area says about it (devices/reliability.py: corroboration).

    Power-on evidence from other devices of the area: their spans of heartbeats
    (PowerOnSpan) and the `on` tick that ended each of their outages.
    """
    area = outage.device.area.code
    span = Span(outage.device_id, outage.device.household_id, area, outage.started_at, end)
    others = areas.spans_between(outage.started_at, end, area=area)
    ended = (
        Outage.objects.filter(
            device__area__code=area, ended_at__gte=outage.started_at, ended_at__lte=end
        )
        .exclude(device_id=outage.device_id)
        .values_list("device_id", "ended_at")
    )
    # A heartbeat span overlapping the outage says "on" where it overlaps; the
    # latest moment of the overlap is the one least likely to be a restoration.
    inside_from, inside_to = outage.started_at + TOLERANCE, end - TOLERANCE
    heard = (
        PowerOnSpan.objects.filter(
            device__area__code=area, started_at__lte=inside_to, ended_at__gte=inside_from
        )
        .exclude(device_id=outage.device_id)
        .values_list("device_id", "started_at", "ended_at")
    )
    on_reports = [OnReport(device, area, at) for device, at in ended] + [
        OnReport(device, area, min(max(started, inside_from), inside_to))
        for device, started, _ in heard
    ]
    return corroboration(span, others, on_reports, devices_in_area, k, TOLERANCE)


CSV_HEADER = ["payout_id", "household", "name", "email", "method", "account", "amount", "period"]


def export_csv(payouts) -> str:
    """Approved payouts as CSV for the bank or bill-credit run; refuses any other state."""
    payouts = list(payouts.select_related("household").order_by("pk"))
    others = [p.pk for p in payouts if p.state != PayoutState.APPROVED]
    if others:
        raise PayoutError(
            "Only approved payouts are exported; not approved: "
            + ", ".join(f"#{pk}" for pk in others)
        )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for p in payouts:
        h = p.household
        writer.writerow(
            [
                p.pk,
                h.username,
                safe_cell(h.get_full_name()),
                safe_cell(h.email),
                h.payout_method,
                safe_cell(h.payout_account),
                f"{p.amount:.2f}",
                p.period.isoformat(),
            ]
        )
    return out.getvalue()
