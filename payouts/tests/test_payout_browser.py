"""Board staff review payouts in the admin, in Chromium; the household then sees it paid."""

import re

import pytest
from playwright.sync_api import expect

from payouts import accrual, creation
from payouts.models import Payout
from payouts.tests.test_accrual import at, cut
from payouts.tests.test_lifecycle import UPI_RRN, pays_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def sign_in_to_the_admin(page, url):
    page.goto(f"{url}/admin/")
    page.get_by_label("Username").fill("board")
    page.get_by_label("Password").fill("board-password-1")
    page.get_by_role("button", name="Log in").click()


def overlap(a: dict, b: dict) -> bool:
    """Whether two bounding boxes share any area."""
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def assert_the_title_is_not_covered(page):
    tools = page.locator(".object-tools").bounding_box()
    for title in (page.locator("#content h1"), page.locator("#content > h2")):
        assert not overlap(title.bounding_box(), tools), (page.url, title.inner_text())


def test_board_staff_approve_and_pay_and_the_household_sees_it_paid(
    chromium_browser, live_server, alice, board_staff, register_device
):
    pays_to(alice)
    cut(register_device(alice, name="Home meter")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    (payout,) = creation.create_payouts(now=at(7200))

    staff = chromium_browser.new_context().new_page()
    refused = []
    staff.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    sign_in_to_the_admin(staff, live_server.url)
    staff.get_by_role("link", name="Payouts", exact=True).click()
    staff.get_by_role("link", name=str(payout.pk), exact=True).click()

    evidence = staff.locator("#evidence")
    expect(evidence).to_contain_text("Evidence: the outages this payout pays for")
    expect(evidence).to_contain_text("Home meter (TN-CHN-042)")
    expect(evidence).to_contain_text("₹14.004438")

    staff.get_by_role("link", name="Approve").click()
    staff.get_by_role("button", name="Yes, approve").click()
    expect(staff.locator(".messagelist")).to_contain_text("1 payout(s) approved.")
    staff.get_by_role("link", name="Mark paid").click()
    staff.get_by_label(f"Reference of payout #{payout.pk}").fill(UPI_RRN)
    staff.get_by_role("button", name="Yes, mark paid").click()
    expect(staff.locator(".messagelist")).to_contain_text("1 payout(s) marked paid.")
    expect(evidence).to_contain_text(UPI_RRN)
    assert refused == []  # the admin needs nothing the Content-Security-Policy forbids

    household = chromium_browser.new_context().new_page()
    household.goto(f"{live_server.url}/accounts/login/")
    household.get_by_label("Username").fill("alice")
    household.get_by_label("Password").fill("alice-password-1")
    household.get_by_role("button", name="Sign in").click()
    household.wait_for_url(re.compile(r"/dashboard/$"))
    row = household.locator(f'#payouts tr[data-payout="{payout.pk}"]')
    expect(row).to_contain_text("₹14.00")
    expect(row).to_contain_text("Paid")
    expect(row).to_contain_text(f"Reference {UPI_RRN}")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
def test_board_staff_review_payouts_and_cannot_approve_one_going_nowhere(
    chromium_browser, live_server, alice, bob, board_staff, register_device, viewport
):
    """Alice is paid by UPI, carol by bank transfer, bob has said nowhere: in bulk, alice's
    and carol's payouts are approved and bob's is refused with why; alice's is marked paid
    (after a reference of the wrong shape is refused), carol's rejected; bob's cannot be
    approved on its own either."""
    carol = type(alice).objects.create_user("carol", "carol@example.com", "carol-password-1")
    pays_to(alice)
    pays_to(carol, "bank")
    cut(register_device(alice)[0], 0, 3600)
    cut(register_device(bob, area_code="DL-SKT-007")[0], 0, 3600)
    cut(register_device(carol, area_code="MH-PUN-001")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    made = {p.household.username: p for p in creation.create_payouts(now=at(7200))}
    width, height = VIEWPORTS[viewport]
    page = chromium_browser.new_context(viewport={"width": width, "height": height}).new_page()
    refused = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    sign_in_to_the_admin(page, live_server.url)

    # The list: where each payout goes, and (at 1280 px) nothing wider than the page.
    page.goto(f"{live_server.url}/admin/payouts/payout/")
    rows = {name: page.locator("#result_list tr", has_text=name) for name in made}
    expect(rows["alice"]).to_contain_text("UPI to alice@okbank")
    expect(rows["carol"]).to_contain_text("Bank transfer to account ending 4321 (HDFC0001234)")
    expect(rows["bob"]).to_contain_text("None: no payout destination")
    if viewport == "desktop":
        for box in (
            "document.documentElement",
            "document.querySelector('#changelist-form .results')",
        ):
            assert page.evaluate(f"{box}.scrollWidth <= {box}.clientWidth"), box

    # Approve all three in bulk: bob's is left awaiting review, and the reviewer is told why.
    for name in made:
        rows[name].get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option("approve_selected")
    page.get_by_role("button", name="Go").click()
    reason = (
        f"Payout #{made['bob'].pk}: bob has no payout destination: "
        "ask the household to set one at /accounts/payout-details/"
    )
    expect(page.locator(f'tr[data-payout="{made["bob"].pk}"]')).to_contain_text(reason)
    page.get_by_role("button", name="Yes, approve").click()
    expect(page.locator(".messagelist")).to_contain_text("2 payout(s) approved.")
    expect(page.locator(".messagelist")).to_contain_text(reason)

    # Alice's: marked paid, by its UPI reference.
    page.goto(f"{live_server.url}/admin/payouts/payout/{made['alice'].pk}/change/")
    assert_the_title_is_not_covered(page)
    expect(page.locator(".field-destination_approved")).to_contain_text("UPI to alice@okbank")
    page.get_by_role("link", name="Mark paid").click()
    expect(page.locator("#reference-shapes")).to_contain_text(
        "Paid by UPI: give the UPI reference (RRN): 12 digits"
    )
    page.get_by_label(f"Reference of payout #{made['alice'].pk}").fill("UPI 20261128-77")
    page.get_by_role("button", name="Yes, mark paid").click()
    expect(page.locator(".errornote")).to_contain_text(
        f"Payout #{made['alice'].pk} goes by UPI: its reference is the UPI reference (RRN): "
        "12 digits"
    )
    page.get_by_label(f"Reference of payout #{made['alice'].pk}").fill(UPI_RRN)
    page.get_by_role("button", name="Yes, mark paid").click()
    expect(page.locator(".messagelist")).to_contain_text("1 payout(s) marked paid.")

    # Carol's: rejected with a reason, refusing the claim; nothing is chosen for the reviewer,
    # and the page says beforehand what each kind does to her balance.
    page.goto(f"{live_server.url}/admin/payouts/payout/{made['carol'].pk}/change/")
    assert_the_title_is_not_covered(page)
    page.get_by_role("link", name="Reject").click()
    page.get_by_label("Reason (the household sees it)").fill("Meter under investigation")
    returning, refusing = (
        page.get_by_label("Return to the balance"),
        page.get_by_label("Refuse the claim"),
    )
    expect(returning).not_to_be_checked()
    expect(refusing).not_to_be_checked()
    expect(refusing).to_have_accessible_description(
        re.compile(r"withheld for good.*Now, it takes ₹0\.004438 from the balance\.")
    )
    page.get_by_role("button", name="Yes, reject").click()  # the browser asks for a choice
    assert page.evaluate("document.getElementById('id_rejection_refuse').validity.valueMissing")
    assert Payout.objects.get(pk=made["carol"].pk).state == "approved"
    refusing.check()
    page.get_by_role("button", name="Yes, reject").click()
    expect(page.locator(".messagelist")).to_contain_text("1 payout(s) rejected.")
    expect(page.locator("#rejection")).to_contain_text("Rejected: refuse the claim")

    # Bob's: the page says why it cannot be approved, and so does the confirmation.
    page.goto(f"{live_server.url}/admin/payouts/payout/{made['bob'].pk}/change/")
    assert_the_title_is_not_covered(page)
    expect(page.locator(".field-destination_of_household")).to_contain_text(
        "No payout destination: the payout cannot be approved until the household sets one"
    )
    page.get_by_role("link", name="Approve").click()
    expect(page.locator(f'tr[data-payout="{made["bob"].pk}"]')).to_contain_text(reason)
    expect(page.get_by_role("button", name="Yes, approve")).to_be_disabled()

    states = dict(Payout.objects.values_list("household__username", "state"))
    assert states == {"alice": "paid", "carol": "rejected", "bob": "awaiting"}
    assert Payout.objects.get(pk=made["carol"].pk).rejection == "refuse"
    assert Payout.objects.get(pk=made["alice"].pk).reference == UPI_RRN
    assert refused == []
