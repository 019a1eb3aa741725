"""Board staff review payouts in the admin; nobody else can, and nothing is deleted."""

from decimal import Decimal

import pytest
from django.test import Client

from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts import accrual, payments
from payouts.models import LedgerEntry, Payout, PayoutTransition, Policy
from payouts.tests.test_accrual import at, cut

pytestmark = pytest.mark.django_db


@pytest.fixture
def payout(alice, bob, register_device):
    """Payouts for alice (Rs 14.00) and bob (Rs 14.00, another area); alice's is returned."""
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    made = payments.create_payouts(now=at(7200))
    return next(p for p in made if p.household == alice)


def test_the_list_filters_by_area_and_state_searches_and_totals(client, board_staff, payout):
    client.force_login(board_staff)

    everything = client.get("/admin/payouts/payout/")
    area = payout.household.devices.get().area
    in_area = client.get(f"/admin/payouts/payout/?area={area.pk}")
    searched = client.get("/admin/payouts/payout/?q=bob")
    approved = client.get("/admin/payouts/payout/?state__exact=approved")

    assert everything.context["totals"] == {"count": 2, "amount": Decimal("28.00")}
    assert in_area.context["totals"] == {"count": 1, "amount": Decimal("14.00")}
    assert [p.household.username for p in searched.context["cl"].result_list] == ["bob"]
    assert approved.context["totals"]["count"] == 0
    assert b"Rs 28.00</strong> in all" in everything.content


def test_the_payout_page_shows_its_evidence(client, board_staff, payout, register_device, bob):
    neighbour = register_device(bob, name="Bob's second", area_code="TN-CHN-042")[0]
    cut(neighbour, 100, 600, seq0=500)  # same area, same time
    client.force_login(board_staff)

    page = client.get(f"/admin/payouts/payout/{payout.pk}/change/")

    (row,) = page.context["evidence"]["outages"]
    assert row["amount"] == Decimal("14.004438")
    assert [p.name for p in row["policies"]] == [Policy.objects.get().name]
    assert [n.device for n in row["neighbours"]] == [neighbour]
    assert b"Evidence: the outages this payout pays for" in page.content
    assert b"Bob&#x27;s second of bob" in page.content
    assert [name for name, _ in page.context["steps"]] == ["approve", "reject"]


def test_approve_and_pay_through_the_confirmation_page(client, board_staff, payout):
    client.force_login(board_staff)
    url = f"/admin/payouts/payout/review/approve/?ids={payout.pk}"

    confirm = client.get(url)
    assert confirm.status_code == 200 and b"Yes, approved" in confirm.content
    assert Payout.objects.get(pk=payout.pk).state == "awaiting"  # a GET changes nothing
    assert client.post(url).status_code == 302
    pay = f"/admin/payouts/payout/review/pay/?ids={payout.pk}"
    refused = client.post(pay, {"note": " "})
    assert b"Payment reference (bank, UPI or bill credit) is required." in refused.content
    assert Payout.objects.get(pk=payout.pk).state == "approved"
    client.post(pay, {"note": "NEFT 123"})

    done = Payout.objects.get(pk=payout.pk)
    assert (done.state, done.reference, done.paid_by) == ("paid", "NEFT 123", board_staff)
    assert PayoutTransition.objects.filter(payout=done).count() == 2


def test_bulk_actions_go_through_the_confirmation_page(client, board_staff, payout):
    client.force_login(board_staff)
    ids = list(Payout.objects.values_list("pk", flat=True))

    response = client.post(
        "/admin/payouts/payout/", {"action": "reject_selected", "_selected_action": ids}
    )

    assert response.status_code == 302 and "/review/reject/?ids=" in response["Location"]
    client.post(response["Location"], {"note": "Duplicate meters"})
    assert set(Payout.objects.values_list("state", flat=True)) == {"rejected"}


def test_csv_export_of_approved_payouts(client, board_staff, payout):
    client.force_login(board_staff)
    payments.transition(payout.pk, "approved", board_staff)

    response = client.post(
        "/admin/payouts/payout/", {"action": "export_selected", "_selected_action": [payout.pk]}
    )

    assert response["Content-Type"].startswith("text/csv")
    assert f"{payout.pk},alice,".encode() in response.content
    assert b",14.00,2026-11-27" in response.content


def test_board_staff_delete_nothing_and_add_no_payouts(client, board_staff, payout):
    client.force_login(board_staff)

    assert client.get(f"/admin/payouts/payout/{payout.pk}/delete/").status_code == 403
    assert client.get("/admin/payouts/payout/add/").status_code == 403
    future = Policy.objects.create(name="Later", effective_from=at(10**8))
    assert client.get(f"/admin/payouts/policy/{future.pk}/delete/").status_code == 403
    assert client.get("/admin/devices/device/add/").status_code == 403


def test_households_cannot_enter_the_admin_or_review(client, alice, payout):
    client.force_login(alice)

    assert client.get("/admin/").status_code == 302
    response = client.post(f"/admin/payouts/payout/review/approve/?ids={payout.pk}")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Payout.objects.get(pk=payout.pk).state == "awaiting"


def test_review_needs_a_csrf_token(board_staff, payout):
    client = Client(enforce_csrf_checks=True)
    client.force_login(board_staff)

    response = client.post(f"/admin/payouts/payout/review/approve/?ids={payout.pk}")

    assert response.status_code == 403
    assert Payout.objects.get(pk=payout.pk).state == "awaiting"


def test_the_evidence_says_what_the_area_says(client, board_staff, alice, bob, register_device):
    """Alice (TN-CHN-042) with a neighbour off the same hour: corroborated. Bob alone in
    DL-SKT-007: cannot corroborate. Carol (TN-CHN-042) off for an hour during which the
    neighbour's power came back (its on tick at 9,600 s): contradicted, though the two
    were off together for a while."""
    carol = type(alice).objects.create_user("carol", password="carol-password-1")
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)
    neighbour = register_device(bob, name="Bob's second", area_code="TN-CHN-042")[0]
    cut(neighbour, 10, 3590, seq0=500)  # off with alice, back on with her
    cut(register_device(carol)[0], 7200, 3600)  # 7,200 to 10,800
    cut(neighbour, 9000, 600, seq0=5000)  # the neighbour off 9,000 to 9,600, then on
    accrual.accrue(now=at(11_000))
    made = {p.household.username: p for p in payments.create_payouts(now=at(12_000))}
    client.force_login(board_staff)

    def verdicts(name):
        page = client.get(f"/admin/payouts/payout/{made[name].pk}/change/")
        return [row["corroboration"] for row in page.context["evidence"]["outages"]], page

    assert verdicts("alice")[0] == ["corroborated"]
    (bobs, page) = verdicts("bob")
    # DL-SKT-007 alone; the neighbour's two outages each overlap another device's.
    assert sorted(bobs) == ["corroborated", "corroborated", "single device"]
    assert b"cannot corroborate" in page.content
    assert verdicts("carol")[0] == ["contradicted"]


def test_the_policys_rules_approve_hold_for_review_or_withhold(alice, bob, register_device):
    """Corroborated outages pay automatically, uncorroborated ones after review,
    contradicted ones not at all (this test's policy)."""
    Policy.objects.update(
        corroborated_outages="pay", uncorroborated_outages="review", contradicted_outages="withhold"
    )
    carol = type(alice).objects.create_user("carol", password="carol-password-1")
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)  # alone: single device
    neighbour = register_device(bob, name="Bob's second", area_code="TN-CHN-042")[0]
    cut(neighbour, 10, 3590, seq0=500)  # off with alice
    carols = register_device(carol)[0]
    seq = cut(carols, 7200, 3600)  # contradicted: the neighbour's power is back at 9,600
    cut(neighbour, 9000, 600, seq0=5000)
    cut(carols, 12_000, 1000, seq0=seq)  # corroborated: the neighbour off with her
    cut(neighbour, 12_000, 1000, seq0=8000)
    accrual.accrue(now=at(14_000))
    balance_before = {
        u.username: sum(LedgerEntry.objects.filter(household=u).values_list("amount", flat=True))
        for u in (alice, bob, carol)
    }

    made = {p.household.username: p for p in payments.create_payouts(now=at(15_000))}

    assert made["alice"].state == "approved"
    (step,) = made["alice"].transitions.all()
    assert step.by is None and step.to_state == "approved" and "corroborated" in step.note
    assert made["bob"].state == "awaiting"
    assert "single device: pay after review" in made["bob"].flags
    # Carol: the contradicted hour is withheld, the corroborated part paid at once.
    first, second = carols.outages.order_by("started_at")
    owed_first = sum(
        LedgerEntry.objects.filter(outage=first, kind="accrual").values_list("amount", flat=True)
    )
    assert made["carol"].state == "approved"
    (withheld,) = LedgerEntry.objects.filter(household=carol, kind="adjustment")
    assert withheld.amount == -owed_first and f"#{first.pk} contradicted" in withheld.note
    assert made["carol"].amount == (balance_before["carol"] - owed_first).quantize(
        Decimal("0.01"), rounding="ROUND_DOWN"
    )
    evidence = payments.evidence(made["carol"])
    assert evidence["withheld"] == owed_first
    # Nothing was held before; only the sub-paise left for the next payout.
    assert Decimal("-0.01") < evidence["carried"] <= 0
    assert f"outage #{second.pk} corroborated: pay automatically" in evidence["flags"]


def test_a_neighbour_whose_heartbeats_said_power_on_contradicts(alice, bob, register_device):
    cut(register_device(alice)[0], 0, 3600)
    neighbour = register_device(bob, area_code="TN-CHN-042")[0]
    for n, s in enumerate(range(0, 3601, 60)):  # power on all along: a heartbeat a minute
        store_ticks({neighbour.pk: [Tick(seq=n + 1, ts=at(s), power="on")]}, received_at=at(s))
    accrual.accrue(now=at(3601))

    (payout,) = payments.create_payouts(now=at(7200))

    (row,) = payments.evidence(payout)["outages"]
    assert row["corroboration"] == "contradicted"
