"""Board staff review a payout in the admin, in Chromium; the household then sees it paid."""

import re

import pytest
from playwright.sync_api import expect

from payouts import accrual, payments
from payouts.tests.test_accrual import at, cut

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_board_staff_approve_and_pay_and_the_household_sees_it_paid(
    chromium_browser, live_server, alice, board_staff, register_device
):
    cut(register_device(alice, name="Home meter")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    (payout,) = payments.create_payouts(now=at(7200))

    staff = chromium_browser.new_context().new_page()
    refused = []
    staff.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    staff.goto(f"{live_server.url}/admin/")
    staff.get_by_label("Username").fill("board")
    staff.get_by_label("Password").fill("board-password-1")
    staff.get_by_role("button", name="Log in").click()
    staff.get_by_role("link", name="Payouts", exact=True).click()
    staff.get_by_role("link", name=str(payout.pk), exact=True).click()

    evidence = staff.locator("#evidence")
    expect(evidence).to_contain_text("Evidence: the outages this payout pays for")
    expect(evidence).to_contain_text("Home meter (TN-CHN-042)")
    expect(evidence).to_contain_text("Rs 14.004438")

    staff.get_by_role("link", name="Approve").click()
    staff.get_by_role("button", name="Yes, approved").click()
    expect(staff.locator(".messagelist")).to_contain_text("1 payout(s) approved.")
    staff.get_by_role("link", name="Mark paid").click()
    staff.get_by_label("Payment reference (bank, UPI or bill credit)").fill("UPI 20261128-77")
    staff.get_by_role("button", name="Yes, paid").click()
    expect(staff.locator(".messagelist")).to_contain_text("1 payout(s) marked paid.")
    expect(evidence).to_contain_text("UPI 20261128-77")
    assert refused == []  # the admin needs nothing the Content-Security-Policy forbids

    household = chromium_browser.new_context().new_page()
    household.goto(f"{live_server.url}/accounts/login/")
    household.get_by_label("Username").fill("alice")
    household.get_by_label("Password").fill("alice-password-1")
    household.get_by_role("button", name="Sign in").click()
    household.wait_for_url(re.compile(r"/dashboard/$"))
    row = household.locator(f'#payouts tr[data-payout="{payout.pk}"]')
    expect(row).to_contain_text("Rs 14.00")
    expect(row).to_contain_text("Paid")
    expect(row).to_contain_text("Reference UPI 20261128-77")
