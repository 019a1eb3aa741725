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


def test_the_30_day_chart_is_one_tab_stop_read_day_by_day_with_the_arrow_keys(
    page, live_server, alice, register_device, time_machine
):
    from payouts import accrual
    from payouts.tests.test_accrual import at, cut

    cut(register_device(alice, name="Home meter")[0], 0, 3600)
    accrual.accrue(now=at(3601))  # Rs 14.004438 on 27 November
    time_machine.move_to(at(86400), tick=True)  # the page is read the next day
    page.context.add_cookies([session(live_server, alice)])

    page.goto(f"{live_server.url}/dashboard/")
    bars = page.locator("#daychart .daychart-bar")
    assert bars.evaluate_all("bars => bars.filter(b => b.tabIndex === 0).length") == 1
    bars.last.focus()  # today
    expect_label = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert expect_label == "28 Nov: ₹0.00"
    page.keyboard.press("ArrowLeft")
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused == "27 Nov: ₹14.00"
    assert page.locator("#daychart .daychart-bar:focus .daychart-tip").is_visible()
    page.keyboard.press("Home")
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
        "30 Oct: ₹0.00"
    )


def session(live_server, user) -> dict:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}
