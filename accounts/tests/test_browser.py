import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_household_signs_in_and_sees_its_dashboard(page, live_server, alice, register_device):
    register_device(alice, name="Home meter")

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(r"/dashboard/$"))
    assert page.get_by_role("heading", name="alice").is_visible()
    assert page.locator("#devices").get_by_text("Home meter").is_visible()
    assert page.locator("#live-status").is_visible()
    # The stylesheet is served (by whitenoise): the header has its brand colour.
    background = page.locator("header.topbar").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert background == "rgb(29, 53, 87)"
