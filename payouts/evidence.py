"""What a payout pays for, and what the evidence says of it.

- `claims`, `paid_for`, `held_for`: per outage, what a payout pays (the accruals in its
  window and in those of the rejected payouts it carries) and what the ledger holds.
- `judge`: the verdict of corroboration on each outage (devices/reliability.py: the area's
  other households off or on meanwhile) and the policy's rule for that verdict: pay,
  review or withhold (`OutageHandling`).
- `evidence`: everything a reviewer reads about a payout.

Reads only: making payouts (payouts.creation) and reviewing them (payouts.review) write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from devices import areas
from devices.models import Outage, PlannedCut, PowerOnSpan
from devices.reliability import OnReport, Span, corroboration
from payouts.accrual import current_policies, facts_for
from payouts.models import (
    EntryKind,
    LedgerEntry,
    Payout,
    RefusedOutage,
    WithheldOutage,
    refused_outage_ids,
)
from policy.compensation import unpaid_windows
from policy.models import OutageHandling, Policy

MICRO = Decimal("0.000001")  # the ledger's places


@dataclass
class Judgement:
    """What the policy's corroboration rules say of a payout's outages."""

    approve: bool = True  # every outage's rule pays automatically
    withheld: Decimal = Decimal(0)  # owed for outages the policy does not pay, or refused
    withheld_notes: list[str] = field(default_factory=list)
    withheld_by_outage: dict[int, Decimal] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    carries: list[Payout] = field(default_factory=list)  # rejected, returned, paid again here


RULE_OF_VERDICT = {
    "corroborated": "corroborated_outages",
    "uncorroborated": "uncorroborated_outages",
    "single household": "uncorroborated_outages",
    "contradicted": "contradicted_outages",
}


def policy_in_force(now: datetime) -> Policy | None:
    return Policy.objects.filter(effective_from__lte=now).order_by("-effective_from").first()


def judge(
    household_id: int,
    covers_from,
    now: datetime,
    policy: Policy | None,
    households: dict[str, int],
    carried: Iterable[Payout] = (),
    refused: dict[int, RefusedOutage] | None = None,
) -> Judgement:
    """Each outage a payout would pay for, by what its area says and the policy's rule for it.

    A payout is approved at once only when every outage's rule pays automatically
    and it carries no money a rejection returned (`carried`: it waits for review);
    outages whose rule is not to pay are withheld (taken from the balance with a
    ledger entry naming them) and the rest is paid. Whatever a refused outage
    accrued since its refusal is withheld too.
    """
    if refused is None:
        refused = {
            r.outage_id: r for r in RefusedOutage.objects.filter(payout__household_id=household_id)
        }
    judged = Judgement(carries=list(carried))
    amounts = claims(household_id, covers_from, now, judged.carries, skip=set(refused))
    for rejected in judged.carries:
        judged.approve = False
        judged.flags.append(
            f"carries Rs {rejected.amount} returned to the balance by rejected payout "
            f"#{rejected.pk}: awaiting review"
        )
    for outage_id, amount in sorted(held_for(refused).items()):
        if amount > 0:  # posted by an accrual that began before the refusal
            judged.withheld += amount
            judged.withheld_by_outage[outage_id] = amount
            note = f"outage #{outage_id} refused with payout #{refused[outage_id].payout_id}"
            judged.withheld_notes.append(note)
            judged.flags.append(f"{note}: not paid")
    if not amounts:
        judged.approve = False
        return judged
    k = policy.corroboration_households if policy else DEFAULT_CORROBORATION_HOUSEHOLDS
    outages = Outage.objects.filter(pk__in=list(amounts)).select_related("device__area")
    for outage in sorted(outages, key=lambda o: o.started_at):
        end = outage.ended_at or outage.last_tick_at
        verdict = area_verdict(outage, end, k, households.get(outage.device.area.code, 1))
        rule = getattr(policy, RULE_OF_VERDICT[verdict]) if policy else OutageHandling.REVIEW
        judged.flags.append(f"outage #{outage.pk} {verdict}: {OutageHandling(rule).label.lower()}")
        if rule == OutageHandling.WITHHOLD:
            judged.withheld += amounts[outage.pk]
            judged.withheld_by_outage[outage.pk] = amounts[outage.pk]
            judged.withheld_notes.append(f"outage #{outage.pk} {verdict}")
        elif rule == OutageHandling.REVIEW:
            judged.approve = False
    return judged


def carried_chain(carried: Iterable[Payout]) -> list[Payout]:
    """The rejected payouts whose money a payout pays again: those it carries, theirs, ..."""
    chain, seen, todo = [], set(), list(carried)
    while todo:
        payout = todo.pop(0)
        if payout.pk in seen:
            continue
        seen.add(payout.pk)
        chain.append(payout)
        todo.extend(payout.carries.all())
    return chain


def claims(
    household_id: int, covers_from, until: datetime, carried: Iterable[Payout], skip=frozenset()
) -> dict[int, Decimal]:
    """What a payout pays for, per outage: the accruals posted in its window (covers_from,
    until], and in the windows of the rejected payouts it carries (returned: their money
    is in this one), less what the policy withheld with those; `skip`'s outages left out."""
    chain = carried_chain(carried)
    window = Q()
    for start, end in [(covers_from, until), *((p.covers_from, p.created_at) for p in chain)]:
        window |= Q(created_at__lte=end) & (Q() if start is None else Q(created_at__gt=start))
    amounts = {
        # Quantized: SQLite sums decimals in floating point.
        outage_id: Decimal(str(total)).quantize(MICRO)
        for outage_id, total in LedgerEntry.objects.filter(
            window, household_id=household_id, kind=EntryKind.ACCRUAL
        )
        .order_by()
        .values("outage_id")
        .annotate(total=Sum("amount"))
        .values_list("outage_id", "total")
    }
    for outage_id, amount in WithheldOutage.objects.filter(payout__in=chain).values_list(
        "outage_id", "amount"
    ):
        if outage_id in amounts:
            amounts[outage_id] -= amount
    return {o: amount for o, amount in amounts.items() if amount and o not in skip}


def held_for(outage_ids: Iterable[int]) -> dict[int, Decimal]:
    """What the ledger holds for each outage: all its accruals, less what was withheld with a
    payout and what a refusal took back. Summed exactly, here."""
    outage_ids = list(outage_ids)
    held: dict[int, Decimal] = dict.fromkeys(outage_ids, Decimal(0))
    if not outage_ids:
        return held
    for outage_id, amount in LedgerEntry.objects.filter(
        outage_id__in=outage_ids, kind=EntryKind.ACCRUAL
    ).values_list("outage_id", "amount"):
        held[outage_id] += amount
    for outage_id, amount in WithheldOutage.objects.filter(outage_id__in=outage_ids).values_list(
        "outage_id", "amount"
    ):
        held[outage_id] -= amount
    for outage_id, amount in RefusedOutage.objects.filter(outage_id__in=outage_ids).values_list(
        "outage_id", "amount"
    ):
        held[outage_id] -= amount
    return held


def paid_for(payout: Payout) -> dict[int, Decimal]:
    """The outages a payout's evidence shows, and what it paid (or withheld) for each."""
    earlier = {
        r.outage_id
        for r in RefusedOutage.objects.filter(
            payout__household_id=payout.household_id, at__lte=payout.created_at
        ).exclude(payout=payout)
    }
    amounts = claims(
        payout.household_id,
        payout.covers_from,
        payout.created_at,
        payout.carries.all(),
        skip=earlier,
    )
    # What refused outages had accrued since their refusal, withheld with this payout.
    for outage_id, amount in payout.withheld_outages.filter(outage_id__in=earlier).values_list(
        "outage_id", "amount"
    ):
        amounts[outage_id] = amount
    return amounts


def evidence(payout: Payout) -> dict:
    """What a payout pays for: its outages, their witnessed time and amounts, the policy
    versions that applied, and the other outages in the same area at the same time; the
    rejected payouts whose money it pays again (their outages are among its own), and
    which of its outages were refused for good, or withheld."""
    amounts = paid_for(payout)
    judged_then = verdicts_when_made(payout)
    refusals = {r.outage_id: r for r in RefusedOutage.objects.filter(outage_id__in=list(amounts))}
    withheld_here = dict(payout.withheld_outages.values_list("outage_id", "amount"))
    outages = list(
        Outage.objects.filter(pk__in=list(amounts))
        .select_related("device", "device__area")
        .order_by("started_at")
    )
    policies = list(Policy.objects.order_by("effective_from"))
    households = areas.households_per_area()
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
        # Shown, marked: a refused claim is no voice in what the area says.
        neighbours_refused = set(
            RefusedOutage.objects.filter(outage__in=neighbours).values_list("outage_id", flat=True)
        )
        k = applied[-1].corroboration_households if applied else DEFAULT_CORROBORATION_HOUSEHOLDS
        unpaid = unpaid_stretches(facts.get(outage.pk), money_rules)
        now = area_verdict(outage, end, k, households.get(outage.device.area.code, 1))
        rows.append(
            {
                "outage": outage,
                "amount": amounts[outage.pk],
                "policies": applied,
                "neighbours": neighbours,
                "neighbours_refused": neighbours_refused,
                "unpaid": unpaid,
                # What the area said when the payout was made (its flags, which its rule
                # followed), and now, if evidence that arrived since says otherwise.
                "corroboration": judged_then.get(outage.pk, now),
                "corroboration_now": now if judged_then.get(outage.pk, now) != now else "",
                "withheld": withheld_here.get(outage.pk, Decimal(0)),
                "refusal": refusals.get(outage.pk),
            }
        )
    total = sum(amounts.values(), Decimal(0))
    left = payout.left_in_balance
    if left is None:  # made before payouts kept it: the balance right after it was made
        left = sum(
            LedgerEntry.objects.filter(
                household_id=payout.household_id, created_at__lte=payout.created_at
            ).values_list("amount", flat=True),
            Decimal(0),
        )
    refused = list(payout.refused_outages.order_by("outage_id"))
    withheld = -sum(
        payout.ledger_entries.filter(kind=EntryKind.ADJUSTMENT).values_list("amount", flat=True),
        Decimal(0),
    )
    return {
        "outages": rows,
        "outages_total": total,
        "withheld": withheld,  # owed for outages the policy does not pay, or refused
        "flags": payout.flags.splitlines(),
        # What the balance held before (sub-paise remainders), less the sub-paise
        # this payout leaves for the next one: the two apart below.
        "carried": payout.amount - total + withheld,
        "from_before": payout.amount - total + withheld + left,
        "left_for_next": left,
        "carries": list(payout.carries.order_by("created_at", "pk")),
        "carried_by": list(payout.carried_by.order_by("created_at", "pk")),
        "refused": refused,  # with this payout's rejection
        "refused_total": sum((r.amount for r in refused), Decimal(0)),
        "transitions": list(payout.transitions.select_related("by")),
    }


DEFAULT_CORROBORATION_HOUSEHOLDS = 2


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
                    _("first %(hours)d h of a planned cut unpaid")
                    % {"hours": rule.planned_unpaid_seconds // 3600}
                    if window[2] == "planned"
                    else _("exemptions do not pay")
                ),
                "policy": rule.name or pgettext("policy", "default"),
            }
        )
    return out


JUDGED = re.compile(
    r"outage #(\d+) (corroborated|uncorroborated|contradicted|single household|single device):"
)


def verdicts_when_made(payout: Payout) -> dict[int, str]:
    """Each outage's verdict as the payout's flags recorded it when the payout was made."""
    return {
        int(outage): "single household" if verdict == "single device" else verdict
        for outage, verdict in JUDGED.findall(payout.flags)
    }


def area_verdict(outage: Outage, end, k: int, households_in_area: int) -> str:
    """What the outage's area says about it (devices/reliability.py: corroboration).

    Corroboration counts households (each span carries its household), so the
    household's own other devices are one voice with it. Power-on evidence
    from every other device of the area, the household's own included: their
    spans of heartbeats (PowerOnSpan) and the `on` tick that ended each of
    their outages.

    Outages refused for good are no evidence either way: they corroborate
    nothing, and the `on` tick that ended one contradicts nothing (the power-on
    span it began counts from the device's next report on).
    """
    area = outage.device.area.code
    refused = refused_outage_ids()
    span = Span(outage.device_id, outage.device.household_id, area, outage.started_at, end)
    others = areas.spans_between(outage.started_at, end, area=area, exclude_outages=refused)
    ended_here = Outage.objects.filter(
        device__area__code=area, ended_at__gte=outage.started_at, ended_at__lte=end
    ).exclude(device_id=outage.device_id)
    ended = ended_here.exclude(pk__in=refused).values_list("device_id", "ended_at")
    refused_ends = set(ended_here.filter(pk__in=refused).values_list("device_id", "ended_at"))
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
    on_reports = [OnReport(device, area, at) for device, at in ended]
    for device, started, last in heard:
        if (device, started) in refused_ends:
            # Begun by a refused outage's on tick: only its last report is surely another.
            if last == started or not inside_from <= last <= inside_to:
                continue
            started = last
        on_reports.append(OnReport(device, area, min(max(started, inside_from), inside_to)))
    return corroboration(span, others, on_reports, households_in_area, k, TOLERANCE)
