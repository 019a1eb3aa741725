"""Planned cuts and exemptions: time inside them pays as the policy says, forward only."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.summary import household_summary
from devices.ingest import store_ticks
from devices.models import Area, CutKind, PlannedCut
from devices.protocol import Tick
from payouts import accrual, creation
from payouts.models import LedgerEntry
from policy.compensation import (
    PLACES,
    PRECISION,
    OutageFacts,
    Policies,
    Terms,
    outage_owed,
    unpaid_windows,
)
from policy.models import Policy

T = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)  # 10:00 India time
HOUR = timedelta(hours=1)
VPS = Decimal("0.000694")  # 300 kWh a month at Rs 6


def terms(**rules) -> Policies:
    return Policies([Terms(effective_from=datetime(2000, 1, 1, tzinfo=UTC), **rules)])


def outage(*windows) -> OutageFacts:
    """Four hours off, 10:00 to 14:00, witnessed throughout."""
    return OutageFacts(1, 1, T, VPS, ((T, T + 4 * HOUR),), windows=tuple(windows))


def integral(policies: Policies, *spans: tuple[int, int]) -> Decimal:
    """The policy's integral over spans given in seconds since the outage began."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        rule = policies.versions[0]
        total = sum((rule.integral(VPS, Decimal(a), Decimal(b)) for a, b in spans), Decimal(0))
        return total.quantize(PLACES)


def test_a_planned_cut_pays_nothing_for_its_first_hours_then_as_usual():
    # Announced 09:00 to 21:00; the policy leaves its first 2 hours unpaid: 09:00-11:00.
    # The outage (10:00-14:00) is paid from 11:00, i.e. seconds 3,600 to 14,400, at the
    # rate its length has reached by then (escalation counts from the outage's start).
    policies = terms(planned_unpaid_seconds=2 * 3600)
    cut = outage((T - HOUR, T + 11 * HOUR, "planned", 7))

    assert outage_owed(cut, policies, T + 4 * HOUR) == integral(policies, (3600, 14400))
    ((start, stop, window),) = unpaid_windows(cut, policies)
    assert (start, stop, window[3]) == (T - HOUR, T + HOUR, 7)


def test_delhis_twelve_hours_leave_a_four_hour_planned_cut_unpaid():
    policies = terms(planned_unpaid_seconds=12 * 3600)

    assert outage_owed(outage((T, T + 5 * HOUR, "planned", 7)), policies, T + 4 * HOUR) == 0


def test_an_exemption_pays_nothing_unless_the_policy_says_it_does():
    window = (T + HOUR, T + 2 * HOUR, "exemption", 8)  # 11:00 to 12:00, a declared storm

    unpaid = terms()
    assert outage_owed(outage(window), unpaid, T + 4 * HOUR) == integral(
        unpaid, (0, 3600), (7200, 14400)
    )
    paying = terms(exemptions_pay=True)
    assert outage_owed(outage(window), paying, T + 4 * HOUR) == integral(paying, (0, 14400))


def test_without_windows_nothing_changes():
    policies = terms(planned_unpaid_seconds=12 * 3600)

    assert outage_owed(outage(), policies, T + 4 * HOUR) == integral(policies, (0, 14400))


# The announcement ----------------------------------------------------------------------


@pytest.fixture
def area(db):
    return Area.objects.create(code="TN-CHN-042", name="Chennai, Velachery feeder 42")


def test_a_cut_must_be_announced_before_it_starts(area):
    past = PlannedCut(
        area=area, starts_at=timezone.now() - HOUR, ends_at=timezone.now() + HOUR, reason="x"
    )
    with pytest.raises(ValidationError) as refused:
        past.full_clean()
    assert "applies forward only" in str(refused.value.message_dict["starts_at"])

    backwards = PlannedCut(
        area=area, starts_at=timezone.now() + 2 * HOUR, ends_at=timezone.now() + HOUR, reason="x"
    )
    with pytest.raises(ValidationError) as refused:
        backwards.full_clean()
    assert "ends_at" in refused.value.message_dict


def test_the_database_refuses_a_retroactive_cut_too(area):
    with pytest.raises(IntegrityError), transaction.atomic():
        PlannedCut.objects.create(
            area=area,
            kind=CutKind.EXEMPTION,
            starts_at=timezone.now() - HOUR,
            ends_at=timezone.now() + HOUR,
            reason="storm, declared late",
        )
    assert not PlannedCut.objects.exists()


# Through the ledger ----------------------------------------------------------------------


def off_from(device, start: datetime, seconds: int) -> None:
    """Off ticks each second from `start` for `seconds`, still off."""
    ticks = [
        Tick(seq=i + 1, ts=start + timedelta(seconds=i), power="off") for i in range(seconds + 1)
    ]
    store_ticks({device.pk: ticks}, received_at=start + timedelta(seconds=seconds))


def test_the_ledger_and_the_evidence_follow_the_announced_cut(
    alice, bob, board_staff, register_device, client
):
    Policy.objects.update(planned_unpaid_hours=1)  # the version in force, for this test
    now = timezone.now()
    alice_meter, _ = register_device(alice, area_code="TN-CHN-042")
    bob_meter, _ = register_device(bob, area_code="DL-SKT-007")
    cut = PlannedCut.objects.create(
        area=alice_meter.area,
        starts_at=now + HOUR,
        ends_at=now + 13 * HOUR,
        reason="feeder maintenance",
    )
    start = now + HOUR  # both off when the planned cut starts, for two hours
    off_from(alice_meter, start, 7200)
    off_from(bob_meter, start, 7200)
    at = start + timedelta(seconds=7201)
    accrual.accrue(now=at)

    def posted(user) -> Decimal:
        return sum(
            LedgerEntry.objects.filter(household=user).values_list("amount", flat=True),
            Decimal(0),
        )

    # Bob, no planned cut in his area: all 7,200 s. Alice: the first hour of the
    # planned cut pays nothing, so only seconds 3,600 to 7,200.
    rule = Policy.objects.get().terms()
    with localcontext() as ctx:
        ctx.prec = PRECISION
        vps = accrual.facts_for(accrual.Q(device=alice_meter)).popitem()[1].value_per_second
        late_hour = rule.integral(vps, Decimal(3600), Decimal(7200)).quantize(PLACES)
        both_hours = rule.integral(vps, Decimal(0), Decimal(7200)).quantize(PLACES)
    assert posted(alice) == late_hour
    assert posted(bob) == both_hours

    made = {
        p.household.username: p for p in creation.create_payouts(now=at, at_least=Decimal("0.01"))
    }
    client.force_login(board_staff)
    page = client.get(f"/admin/payouts/payout/{made['alice'].pk}/change/")
    (row,) = page.context["evidence"]["outages"]
    (unpaid,) = row["unpaid"]
    assert (unpaid["cut"], unpaid["seconds"]) == (cut, 3600)
    assert unpaid["rule"] == "first 1 h of a planned cut unpaid"
    assert b"feeder maintenance" in page.content
    # Alice's own dashboard says the same of her outage.
    (shown,) = household_summary(alice, now=at)["outages"]
    assert shown["unpaid"] == [
        {
            "window": "Planned cut",
            "reason": "feeder maintenance",
            "rule": "first 1 h of a planned cut unpaid",
            "policy": Policy.objects.get().name,
            "seconds": 3600,
        }
    ]


def test_board_staff_announce_in_the_admin_and_cannot_rewrite_a_started_cut(
    client, board_staff, area
):
    client.force_login(board_staff)
    start = timezone.localtime(timezone.now() + 2 * HOUR)
    end = start + 6 * HOUR

    def form(when_start, when_end):
        return {
            "area": area.pk,
            "kind": "planned",
            "starts_at_0": when_start.strftime("%Y-%m-%d"),
            "starts_at_1": when_start.strftime("%H:%M:%S"),
            "ends_at_0": when_end.strftime("%Y-%m-%d"),
            "ends_at_1": when_end.strftime("%H:%M:%S"),
            "reason": "transformer replacement",
        }

    late = client.post("/admin/devices/plannedcut/add/", form(start - 3 * HOUR, end))
    assert late.status_code == 200 and b"applies forward only" in late.content
    assert not PlannedCut.objects.exists()

    done = client.post("/admin/devices/plannedcut/add/", form(start, end))
    assert done.status_code == 302
    cut = PlannedCut.objects.get()
    assert cut.announced_by == board_staff and not cut.started

    PlannedCut.objects.filter(pk=cut.pk).update(
        starts_at=timezone.now() - HOUR, announced_at=timezone.now() - 2 * HOUR
    )
    page = client.get(f"/admin/devices/plannedcut/{cut.pk}/change/")
    assert page.status_code == 200 and not page.context["has_change_permission"]
    refused = client.post(f"/admin/devices/plannedcut/{cut.pk}/change/", form(start, end))
    assert refused.status_code == 403
    assert (
        client.post(f"/admin/devices/plannedcut/{cut.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert PlannedCut.objects.get().reason == "transformer replacement"
