"""Board staff review payouts in the admin; nobody else can, and nothing is deleted."""

from decimal import Decimal

import pytest
from django.test import Client

from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts import accrual, creation, evidence, review
from payouts.models import LedgerEntry, Payout, PayoutTransition
from payouts.tests.test_accrual import at, cut
from payouts.tests.test_lifecycle import UPI_RRN, pays_to
from policy.models import Policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def payout(alice, bob, register_device):
    """Payouts for alice (Rs 14.00, by UPI to alice@okbank) and bob (Rs 14.00, another area,
    no payout destination); alice's is returned."""
    pays_to(alice)
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    made = creation.create_payouts(now=at(7200))
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
    assert ">₹28.00</data></strong> in all" in everything.content.decode()


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


def seen(confirm) -> dict:
    """What the approval page shows of each payout's destination, as the browser posts it."""
    return {f"seen-{row['payout'].pk}": row["seen"] for row in confirm.context["rows"]}


def test_approve_and_pay_through_the_confirmation_page(client, board_staff, payout):
    client.force_login(board_staff)
    url = f"/admin/payouts/payout/review/approve/?ids={payout.pk}"

    confirm = client.get(url)
    assert confirm.status_code == 200 and b"Yes, approve" in confirm.content
    assert Payout.objects.get(pk=payout.pk).state == "awaiting"  # a GET changes nothing
    assert client.post(url, seen(confirm)).status_code == 302
    pay = f"/admin/payouts/payout/review/pay/?ids={payout.pk}"
    asked = client.get(pay)
    assert "Paid by UPI: give the UPI reference (RRN): 12 digits" in asked.content.decode()
    refused = client.post(pay, {f"reference-{payout.pk}": " "})
    assert b"Give each payout&#x27;s payment reference." in refused.content
    wrong = client.post(pay, {f"reference-{payout.pk}": "NEFT 123"})
    assert wrong.status_code == 200  # the same page again, with why
    assert (
        f"Payout #{payout.pk} goes by UPI: its reference is the UPI reference (RRN): 12 digits"
        in wrong.content.decode()
    )
    assert Payout.objects.get(pk=payout.pk).state == "approved"
    client.post(pay, {f"reference-{payout.pk}": UPI_RRN})

    done = Payout.objects.get(pk=payout.pk)
    assert (done.state, done.reference, done.paid_by) == ("paid", UPI_RRN, board_staff)
    assert PayoutTransition.objects.filter(payout=done).count() == 2


def test_bulk_actions_go_through_the_confirmation_page(client, board_staff, payout):
    client.force_login(board_staff)
    ids = list(Payout.objects.values_list("pk", flat=True))

    response = client.post(
        "/admin/payouts/payout/", {"action": "reject_selected", "_selected_action": ids}
    )

    assert response.status_code == 302 and "/review/reject/?ids=" in response["Location"]
    unsaid = client.post(response["Location"], {"note": "Duplicate meters"})
    assert "return the money to the balance, or refuse the claim" in unsaid.content.decode()
    assert set(Payout.objects.values_list("state", flat=True)) == {"awaiting"}
    client.post(response["Location"], {"note": "Duplicate meters", "rejection": "return"})
    assert set(Payout.objects.values_list("state", "rejection")) == {("rejected", "return")}


def test_csv_export_of_approved_payouts(client, board_staff, payout):
    client.force_login(board_staff)
    review.transition(payout.pk, "approved", board_staff)

    response = client.post(
        "/admin/payouts/payout/", {"action": "export_selected", "_selected_action": [payout.pk]}
    )

    assert response["Content-Type"].startswith("text/csv")
    assert (
        f"{payout.pk},alice,,alice@example.com,upi,alice@okbank,,,,,14.00,2026-11-27".encode()
        in (response.content)
    )


def test_board_staff_delete_nothing_and_add_no_payouts(client, board_staff, payout):
    client.force_login(board_staff)

    assert client.get(f"/admin/payouts/payout/{payout.pk}/delete/").status_code == 403
    assert client.get("/admin/payouts/payout/add/").status_code == 403
    future = Policy.objects.create(name="Later", effective_from=at(10**8))
    assert client.get(f"/admin/policy/policy/{future.pk}/delete/").status_code == 403
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
    made = {p.household.username: p for p in creation.create_payouts(now=at(12_000))}
    client.force_login(board_staff)

    def verdicts(name):
        page = client.get(f"/admin/payouts/payout/{made[name].pk}/change/")
        return [row["corroboration"] for row in page.context["evidence"]["outages"]], page

    assert verdicts("alice")[0] == ["corroborated"]
    (bobs, page) = verdicts("bob")
    # DL-SKT-007 alone; the neighbour's two outages each overlap another device's.
    assert sorted(bobs) == ["corroborated", "corroborated", "single household"]
    assert b"cannot corroborate" in page.content
    assert verdicts("carol")[0] == ["contradicted"]


def test_the_policys_rules_approve_hold_for_review_or_withhold(alice, bob, register_device):
    """Corroborated outages pay automatically, uncorroborated ones after review,
    contradicted ones not at all (this test's policy)."""
    Policy.objects.update(
        corroborated_outages="pay", uncorroborated_outages="review", contradicted_outages="withhold"
    )
    carol = type(alice).objects.create_user("carol", password="carol-password-1")
    pays_to(alice)
    pays_to(carol, "bill")
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)  # alone: single household
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

    made = {p.household.username: p for p in creation.create_payouts(now=at(15_000))}

    assert made["alice"].state == "approved"
    (step,) = made["alice"].transitions.all()
    assert step.by is None and step.to_state == "approved" and "corroborated" in step.note
    assert made["bob"].state == "awaiting"
    assert "single household: pay after review" in made["bob"].flags
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
    shown = evidence.evidence(made["carol"])
    assert shown["withheld"] == owed_first
    # Nothing was held before; only the sub-paise left for the next payout.
    assert Decimal("-0.01") < shown["carried"] <= 0
    assert f"outage #{second.pk} corroborated: pay automatically" in shown["flags"]


def test_a_neighbour_whose_heartbeats_said_power_on_contradicts(alice, bob, register_device):
    cut(register_device(alice)[0], 0, 3600)
    neighbour = register_device(bob, area_code="TN-CHN-042")[0]
    for n, s in enumerate(range(0, 3601, 60)):  # power on all along: a heartbeat a minute
        store_ticks({neighbour.pk: [Tick(seq=n + 1, ts=at(s), power="on")]}, received_at=at(s))
    accrual.accrue(now=at(3601))

    (payout,) = creation.create_payouts(now=at(7200))

    (row,) = evidence.evidence(payout)["outages"]
    assert row["corroboration"] == "contradicted"


def test_the_list_and_the_page_say_where_each_payout_goes(client, board_staff, payout, alice):
    bobs = Payout.objects.get(household__username="bob")
    client.force_login(board_staff)

    listed = client.get("/admin/payouts/payout/").content.decode()
    awaiting = client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()
    nowhere = client.get(f"/admin/payouts/payout/{bobs.pk}/change/").content.decode()
    review.transition(payout.pk, "approved", board_staff)
    pays_to(alice, "bill")  # the household changes it after the approval
    approved = client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()

    assert "UPI to alice@okbank" in listed
    assert '<span class="no-destination">None: no payout destination</span>' in listed
    assert "not approved yet" in awaiting and "UPI to alice@okbank" in awaiting
    assert (
        "No payout destination: the payout cannot be approved until the household sets one "
        "at /accounts/payout-details/" in nowhere
    )
    assert "UPI to alice@okbank" in approved  # as approved
    assert "Credit on the electricity bill of consumer 0123456789" in approved
    assert "changed since the approval" in approved


def test_a_payout_without_a_destination_cannot_be_approved_on_its_own(client, board_staff, payout):
    bobs = Payout.objects.get(household__username="bob")
    client.force_login(board_staff)
    url = f"/admin/payouts/payout/review/approve/?ids={bobs.pk}"
    reason = (
        f"Payout #{bobs.pk}: bob has no payout destination: "
        "ask the household to set one at /accounts/payout-details/"
    )

    confirm = client.get(url)
    posted = client.post(url)  # the button is disabled; a forged post is refused all the same

    assert confirm.context["movable"] == [] and reason in confirm.content.decode()
    assert b'value="Yes, approve" class="default" disabled' in confirm.content
    assert posted.status_code == 200 and reason in posted.content.decode()
    assert Payout.objects.get(pk=bobs.pk).state == "awaiting"
    assert not PayoutTransition.objects.filter(payout=bobs).exists()


def test_bulk_approval_approves_those_with_a_destination_and_says_why_not_the_others(
    client, board_staff, payout
):
    bobs = Payout.objects.get(household__username="bob")
    client.force_login(board_staff)

    response = client.post(
        "/admin/payouts/payout/",
        {"action": "approve_selected", "_selected_action": [payout.pk, bobs.pk]},
    )
    confirm = client.get(response["Location"])
    done = client.post(response["Location"], seen(confirm), follow=True)

    assert [p.pk for p in confirm.context["movable"]] == [payout.pk]
    said = [str(m) for m in done.context["messages"]]
    assert said == [
        "1 payout(s) approved.",
        f"Payout #{bobs.pk}: bob has no payout destination: "
        "ask the household to set one at /accounts/payout-details/",
    ]
    assert Payout.objects.get(pk=payout.pk).state == "approved"
    assert Payout.objects.get(pk=bobs.pk).state == "awaiting"


def test_bulk_mark_paid_takes_one_reference_per_payout(client, board_staff, payout, alice, bob):
    pays_to(bob, "bank")
    bobs = Payout.objects.get(household__username="bob")
    for p in (payout, bobs):
        review.transition(p.pk, "approved", board_staff)
    client.force_login(board_staff)
    url = f"/admin/payouts/payout/review/pay/?ids={payout.pk},{bobs.pk}"

    asked = client.get(url).content.decode()
    # One payment's reference for both: it fits alice's UPI payment, and is a valid UTR too.
    once = client.post(url, {f"reference-{payout.pk}": UPI_RRN, f"reference-{bobs.pk}": UPI_RRN})

    assert "Paid by bank transfer: give the UTR: 12 to 22 letters or digits" in asked
    assert "Paid by UPI: give the UPI reference (RRN): 12 digits" in asked
    states = dict(Payout.objects.values_list("pk", "state"))
    assert sorted(states.values()) == ["approved", "paid"]  # one payment, one payout
    paid = next(pk for pk, state in states.items() if state == "paid")
    said = " ".join(str(m) for m in list(once.wsgi_request._messages))
    assert f"already marks payout #{paid} paid" in said


def test_an_approval_is_of_the_destination_the_reviewer_saw(client, board_staff, payout, alice):
    client.force_login(board_staff)
    url = f"/admin/payouts/payout/review/approve/?ids={payout.pk}"
    confirm = client.get(url)
    alice.payout_upi_id = "mule@ybl"  # the household changes it while the page is open
    alice.save()

    refused = client.post(url, seen(confirm))

    assert "changed where it goes while you were looking (now UPI to mule@ybl)" in (
        refused.content.decode()
    )
    assert Payout.objects.get(pk=payout.pk).state == "awaiting"
    client.post(url, seen(client.get(url)))  # looked again: approved to what was shown
    assert Payout.objects.get(pk=payout.pk).destination_upi_id == "mule@ybl"


def test_an_exported_payout_is_not_exported_again_nor_rejected_unless_the_bank_returned_it(
    client, board_staff, payout
):
    review.transition(payout.pk, "approved", board_staff)
    client.force_login(board_staff)
    export = {"action": "export_selected", "_selected_action": [payout.pk]}

    first = client.post("/admin/payouts/payout/", export)
    again = client.post("/admin/payouts/payout/", export, follow=True)
    reject = f"/admin/payouts/payout/review/reject/?ids={payout.pk}"
    page = client.get(reject).content.decode()
    unsaid = client.post(reject, {"note": "changed my mind", "rejection": "return"})

    assert first["Content-Type"].startswith("text/csv")
    assert Payout.objects.get(pk=payout.pk).exported_by == board_staff
    assert "Left out, exported before" in " ".join(str(m) for m in again.context["messages"])
    assert "the bank returned it unpaid" in page
    assert "reject it only if the bank returned it unpaid" in unsaid.content.decode()
    assert Payout.objects.get(pk=payout.pk).state == "approved"
    client.post(reject, {"note": "returned", "rejection": "return", "bank_returned": "yes"})
    assert Payout.objects.get(pk=payout.pk).state == "rejected"


def test_payout_ids_past_what_a_database_holds_are_a_404(client, board_staff):
    client.force_login(board_staff)

    response = client.get("/admin/payouts/payout/review/approve/?ids=9223372036854775808")

    assert response.status_code == 404


def test_the_axes_records_are_for_superusers_only(client, board_staff, django_user_model):
    from django.contrib.auth.models import Permission

    board_staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="axes"))
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-1")

    client.force_login(board_staff)
    staff_index = client.get("/admin/")
    staff_list = client.get("/admin/axes/accessattempt/")
    client.force_login(admin)
    superuser_index = client.get("/admin/")

    assert b"/admin/axes/" not in staff_index.content
    assert staff_list.status_code == 403
    assert b"/admin/axes/" in superuser_index.content


def test_the_admin_wears_the_sites_look(client, board_staff, payout):
    client.force_login(board_staff)

    page = client.get("/admin/payouts/payout/").content.decode()

    assert "/static/css/admin.css" in page
    assert page.index("admin/css/responsive.css") < page.index("/static/css/admin.css")
    assert "dark_mode.css" not in page and "cdn" not in page.lower()
    assert "img/bolt.svg" in page


def test_a_household_cannot_corroborate_itself(alice, bob, register_device):
    """Issue 15: alice's two devices both claim the same hour; bob, in the same area, had
    power. A policy that pays corroborated outages automatically must not approve it: her
    own devices agreeing are one voice. Carol, alone in her area with two devices, is the
    area's only household: nobody else could corroborate her."""
    Policy.objects.update(corroborated_outages="pay")
    carol = type(alice).objects.create_user("carol", password="carol-password-1")
    for household in (alice, carol):
        pays_to(household)
    cut(register_device(alice, name="Meter 1")[0], 0, 3600)
    cut(register_device(alice, name="Meter 2")[0], 0, 3600)
    register_device(bob)  # TN-CHN-042 too, and no cut
    cut(register_device(carol, name="Meter 1", area_code="KA-BLR-001")[0], 0, 3600)
    cut(register_device(carol, name="Meter 2", area_code="KA-BLR-001")[0], 0, 3600)
    accrual.accrue(now=at(3601))

    made = {p.household.username: p for p in creation.create_payouts(now=at(7200))}

    assert made["alice"].state == "awaiting" and made["alice"].transitions.count() == 0
    assert made["alice"].amount == Decimal("28.00")
    verdicts = [row["corroboration"] for row in evidence.evidence(made["alice"])["outages"]]
    assert verdicts == ["uncorroborated", "uncorroborated"]
    assert "corroborated: pay automatically" not in made["alice"].flags
    assert made["carol"].state == "awaiting"
    assert [row["corroboration"] for row in evidence.evidence(made["carol"])["outages"]] == [
        "single household",
        "single household",
    ]
    assert "single household: pay after review" in made["carol"].flags


def test_a_rejection_is_chosen_on_the_confirmation_page_with_what_it_does(
    client, board_staff, payout, time_machine
):
    """Issue 15: the reviewer must choose, no default, between returning the money and
    refusing the claim, and sees beforehand what each does to the balance."""
    outage = payout.household.devices.get().outages.get()
    client.force_login(board_staff)
    url = f"/admin/payouts/payout/review/reject/?ids={payout.pk}"

    asked = client.get(url).content.decode()

    assert 'type="radio" name="rejection" value="return"' in asked
    assert 'type="radio" name="rejection" value="refuse"' in asked
    assert "checked" not in asked  # no default: a reviewer must choose
    assert ">Return to the balance</label>" in asked and ">Refuse the claim</label>" in asked
    assert "Returned: adds ₹14.00 to the balance." in asked
    assert (
        f"Refused: ₹14.00 back, ₹14.004438 taken back for outage #{outage.pk} "
        "(₹14.004438): takes ₹0.004438 from the balance." in asked
    )
    assert "Now, it takes ₹0.004438 from the balance." in asked
    unsaid = client.post(url, {"note": "Meter tampered with"})
    assert unsaid.status_code == 200
    assert "Say what the rejection does" in unsaid.content.decode()
    assert Payout.objects.get(pk=payout.pk).state == "awaiting"
    time_machine.move_to(at(9000), tick=False)
    done = client.post(url, {"note": "Meter tampered with", "rejection": "refuse"}, follow=True)

    rejected = Payout.objects.get(pk=payout.pk)
    assert (rejected.state, rejected.rejection) == ("rejected", "refuse")
    page = done.content.decode()
    assert "1 payout(s) rejected." in page
    assert 'data-rejection="refuse">Rejected: <strong>refuse the claim</strong>' in page
    assert f"outage #{outage.pk} (₹14.004438) withheld for good" in page
    assert "Refused for good</strong> with this payout" in page
    assert "Rejected (refuse the claim)" in page  # the review history


def test_the_next_payout_says_it_pays_a_returned_one_again(
    client, board_staff, payout, time_machine
):
    time_machine.move_to(at(9000), tick=False)
    review.transition(payout.pk, "rejected", board_staff, "Wrong account", rejection="return")
    (again,) = [
        p for p in creation.create_payouts(now=at(7200 + 86400)) if p.household == payout.household
    ]
    client.force_login(board_staff)

    returned = client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()
    carrying = client.get(f"/admin/payouts/payout/{again.pk}/change/").content.decode()

    assert "Rejected: <strong>return to the balance</strong>" in returned
    assert f'paid again with <a href="/admin/payouts/payout/{again.pk}/change/">' in returned
    assert f"rejected payout #{payout.pk}</a> (₹14.00, returned to the balance" in carrying
    assert "this payout waits for review" in carrying
    assert f"carries Rs 14.00 returned to the balance by rejected payout #{payout.pk}" in carrying


def test_the_evidence_shows_the_verdict_the_payout_was_judged_by_and_what_changed_since(
    alice, bob, register_device
):
    pays_to(alice)
    cut(register_device(alice, name="Home meter")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    (payout,) = creation.create_payouts(now=at(7200))
    # Evidence arriving after the payout was made: bob's meter in the same area was off too.
    cut(register_device(bob, name="Bob's meter")[0], 0, 3600)

    (row,) = evidence.evidence(payout)["outages"]

    assert f"outage #{row['outage'].pk} single household" in payout.flags
    assert (row["corroboration"], row["corroboration_now"]) == ("single household", "corroborated")


def test_an_export_of_a_mixed_selection_exports_the_approved_and_says_what_it_left_out(
    client, board_staff, payout
):
    bobs = Payout.objects.get(household__username="bob")  # awaiting review, no destination
    review.transition(payout.pk, "approved", board_staff)
    client.force_login(board_staff)

    response = client.post(
        "/admin/payouts/payout/",
        {"action": "export_selected", "_selected_action": [payout.pk, bobs.pk]},
    )

    lines = response.content.decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{payout.pk},")
    said = [str(m) for m in list(response.wsgi_request._messages)]
    assert said == [f"Left out, not approved: #{bobs.pk}"]


def test_a_payout_rejected_before_any_approval_is_listed_as_never_approved(
    client, board_staff, payout
):
    review.transition(payout.pk, "rejected", board_staff, "Duplicate", rejection="return")
    client.force_login(board_staff)

    listed = client.get("/admin/payouts/payout/").content.decode()
    page = client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()

    assert '<span class="no-destination">None: never approved</span>' in listed
    assert "no destination was recorded when it was approved" not in listed
    assert "never approved" in page


@pytest.mark.parametrize(
    "changed",
    [
        {"payout_bank_account": "999999994321"},  # the same last four digits, the same IFSC
        {"payout_account_holder": "Mallory Rao"},
        {"payout_ifsc": "HDFC0009999"},
    ],
)
def test_an_approval_is_refused_when_any_part_of_the_account_changed(
    client, board_staff, payout, alice, changed
):
    """The reviewer is shown the whole account (number, IFSC, holder), and the approval is of
    all of it: a new account ending in the same four digits is a change too. The page carries
    a fingerprint of what it showed, never the account number in a hidden field."""
    pays_to(alice, "bank")  # 123456784321 at HDFC0001234, Alice Rao
    client.force_login(board_staff)
    url = f"/admin/payouts/payout/review/approve/?ids={payout.pk}"
    confirm = client.get(url)
    shown = confirm.content.decode()
    for name, value in changed.items():
        setattr(alice, name, value)
    alice.save()  # while the page is open

    refused = client.post(url, seen(confirm))

    assert (
        "Bank transfer to account 123456784321, IFSC HDFC0001234, account holder Alice Rao" in shown
    )
    hidden = [line for line in shown.splitlines() if 'name="seen-' in line]
    assert hidden and not any("123456784321" in line for line in hidden)
    assert "changed where it goes while you were looking" in refused.content.decode()
    assert Payout.objects.get(pk=payout.pk).state == "awaiting"
    again = client.get(url)
    client.post(url, seen(again))
    approved = Payout.objects.get(pk=payout.pk)
    assert approved.state == "approved"
    assert approved.destination() == alice.payout_destination().normalised()


def test_a_refused_outage_corroborates_no_other_households_outage(
    client, board_staff, alice, bob, register_device, time_machine
):
    """Bob's claim for an hour is refused for good; alice then claims the same hour in the same
    area. Bob's refused outage is no voice: hers is uncorroborated, and waits for review under a
    policy that pays corroborated outages automatically. Her evidence lists his cut as refused."""
    Policy.objects.update(corroborated_outages="pay", uncorroborated_outages="review")
    pays_to(alice)
    pays_to(bob, "bill")
    alices = register_device(alice)[0]
    cut(register_device(bob, name="Bob's meter")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    (bobs,) = creation.create_payouts(now=at(7200))
    time_machine.move_to(at(9000), tick=False)
    review.transition(bobs.pk, "rejected", board_staff, "Tampered", rejection="refuse")
    cut(alices, 0, 3600)  # her meter's buffer, sent late
    accrual.accrue(now=at(10_000))

    (hers,) = creation.create_payouts(now=at(7200 + 86400))

    outage = alices.outages.get()
    assert hers.state == "awaiting"
    assert f"outage #{outage.pk} uncorroborated: pay after review" in hers.flags
    (row,) = evidence.evidence(hers)["outages"]
    assert row["corroboration"] == "uncorroborated" and row["corroboration_now"] == ""
    client.force_login(board_staff)
    page = client.get(f"/admin/payouts/payout/{hers.pk}/change/").content.decode()
    assert "Bob&#x27;s meter of bob (09:00; claim refused for good: not counted)" in page


def test_a_refused_outage_contradicts_no_other_households_outage(
    alice, bob, register_device, board_staff, time_machine
):
    """Bob's refused outage ended (its on tick) in the middle of alice's: that tick is part of
    a claim refused for good and contradicts nothing. Heartbeats his meter sent afterwards are
    not the refused outage: they still say his power was on."""
    alices = register_device(alice)[0]
    bobs_meter = register_device(bob)[0]
    cut(alices, 0, 3600)
    seq = cut(bobs_meter, 0, 1800)  # back on at 1,800 s, in the middle of alice's cut
    accrual.accrue(now=at(3601))
    made = {p.household.username: p for p in creation.create_payouts(now=at(7200))}
    outage = alices.outages.get()

    def verdict():
        return evidence.area_verdict(outage, outage.ended_at, 2, 2)

    assert verdict() == "contradicted"
    time_machine.move_to(at(9000), tick=False)
    review.transition(made["bob"].pk, "rejected", board_staff, "Tampered", rejection="refuse")
    assert verdict() == "uncorroborated"
    for n, s in enumerate(range(1860, 3600, 60)):  # his heartbeats after, power on
        store_ticks({bobs_meter.pk: [Tick(seq=seq + n, ts=at(s), power="on")]}, received_at=at(s))
    assert verdict() == "contradicted"


def test_the_list_and_the_page_say_whether_when_and_by_whom_a_payout_was_exported(
    client, board_staff, payout, time_machine
):
    """An export is in the payout's review history, and the list has an *exported* column and
    filter; rejecting it afterwards records that the reviewer said the bank returned it."""
    bobs = Payout.objects.get(household__username="bob")
    time_machine.move_to(at(8000), tick=False)
    review.transition(payout.pk, "approved", board_staff)
    client.force_login(board_staff)
    time_machine.move_to(at(9000), tick=False)  # 11:30 in India
    client.post(
        "/admin/payouts/payout/", {"action": "export_selected", "_selected_action": [payout.pk]}
    )

    listed = client.get("/admin/payouts/payout/")
    exported = client.get("/admin/payouts/payout/?exported=yes")
    not_exported = client.get("/admin/payouts/payout/?exported=no")
    page = client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()

    assert "27 Nov 2026 11:30 by board" in listed.content.decode()
    assert [p.pk for p in exported.context["cl"].result_list] == [payout.pk]
    assert [p.pk for p in not_exported.context["cl"].result_list] == [bobs.pk]
    assert "27 Nov 2026 11:30 by board" in page
    history = page[page.index("Review history") :]
    assert "Approved: exported for the bank or bill-credit run" in history
    assert history.index("Awaiting review") < history.index("exported for the bank")

    reject = f"/admin/payouts/payout/review/reject/?ids={payout.pk}"
    client.post(reject, {"note": "Account closed", "rejection": "return", "bank_returned": "yes"})

    page = client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()
    history = page[page.index("Review history") :]
    assert "Rejected (return to the balance): the bank returned it unpaid" in history


def test_the_page_says_what_came_from_before_and_what_stays_for_the_next_payout(
    client, board_staff, payout, alice
):
    """The first payout leaves Rs 0.004438 in the balance; the second pays a new hour and that
    remainder, and leaves Rs 0.008876: the page says both, in words, never a bare negative."""
    cut(alice.devices.get(), 8000, 3600, seq0=10000)
    accrual.accrue(now=at(11601))
    (second,) = [p for p in creation.create_payouts(now=at(7200 + 86400)) if p.household == alice]
    client.force_login(board_staff)

    first_page = client.get(f"/admin/payouts/payout/{payout.pk}/change/").content.decode()
    second_page = client.get(f"/admin/payouts/payout/{second.pk}/change/").content.decode()

    shown = evidence.evidence(second)
    assert (shown["from_before"], shown["left_for_next"]) == (
        Decimal("0.004438"),
        Decimal("0.008876"),
    )
    assert "Nothing carried from before" in first_page
    assert "Left in the balance for the next payout (under a paisa): ₹0.004438" in first_page
    assert "Carried from before (what earlier payouts left under a paisa): ₹0.004438" in (
        second_page
    )
    assert "Left in the balance for the next payout (under a paisa): ₹0.008876" in second_page
    for page in (first_page, second_page):
        assert "sub-paise left for the next payout" not in page and "-₹" not in page
