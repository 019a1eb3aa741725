"""Every page in English, Tamil and Hindi, on a desktop and on a phone: its words in the
chosen language, rupees as India writes them, and no serious or critical accessibility
violation found by axe-core (the npm package, injected into the page); and keyboard-only
use of the household's stories."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Sum
from django.utils import translation
from playwright.sync_api import expect

from accounts.templatetags.dashboard import when
from accounts.tests.test_browser import session
from payouts import accrual
from payouts.models import HouseholdBalance, LedgerEntry
from payouts.tests.test_accrual import at, cut

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(settings.BASE_DIR, "node_modules", "axe-core", "axe.min.js")
LANGUAGES = ["en", "ta", "hi"]
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# axe's rules of WCAG 2.0, 2.1 and 2.2 at A and AA (contrast included), and its best practices.
AXE_RUN = """() => axe.run(document, {
  runOnly: {type: "tag", values: [
    "wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"
  ]},
  resultTypes: ["violations"]
}).then(result => result.violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => `${v.id} (${v.impact}): ` +
    v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")))"""


def words(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        pytest.skip(f"browser test skipped: no axe-core at {AXE} (npm ci)")
    return AXE.read_text()


@pytest.fixture
def rich_household(alice, register_device, time_machine):
    """alice with a cut today, ₹99,00,000 adjusted earlier this month and ₹1,00,000 today:
    her balance and month are ₹1,00,00,000-and-a-bit, today ₹1,00,000-and-a-bit."""
    time_machine.move_to(at(0).replace(day=2), tick=False)
    LedgerEntry.objects.create(household=alice, kind="adjustment", amount=Decimal("9900000"))
    time_machine.move_to(at(0), tick=False)
    LedgerEntry.objects.create(household=alice, kind="adjustment", amount=Decimal("100000"))
    device = register_device(alice, name="Home meter")[0]
    cut(device, 0, 600)
    accrual.accrue(now=at(601))
    # Adjustments posted by hand here: the balance is kept as the sum of the ledger.
    total = LedgerEntry.objects.filter(household=alice).aggregate(total=Sum("amount"))["total"]
    HouseholdBalance.objects.filter(household=alice).update(amount=total)
    time_machine.move_to(at(3600), tick=True)
    return alice


def open_context(browser, live_server, language, size, user=None):
    context = browser.new_context(viewport=SIZES[size], bypass_csp=True, locale=f"{language}-IN")
    context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    )
    if user is not None:
        context.add_cookies([session(live_server, user)])
    return context


def violations(page, axe_source) -> list[str]:
    page.add_script_tag(content=axe_source)
    return page.evaluate(AXE_RUN)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_passes_axe_in_each_language_and_size(
    chromium_browser, live_server, rich_household, board_staff, axe_source, language, size
):
    from devices.models import Outage

    outage = Outage.objects.get()
    pages = {
        None: ["/", "/accounts/login/", "/accounts/signup/", "/no-such-page/"],
        rich_household: [
            "/dashboard/",
            f"/dashboard/outages/{outage.pk}/",
            "/accounts/payout-details/",
            "/accounts/password_change/",
            "/accounts/logout/",
        ],
        board_staff: ["/board/"],
    }
    found = {}
    for user, paths in pages.items():
        context = open_context(chromium_browser, live_server, language, size, user)
        page = context.new_page()
        for path in paths:
            page.goto(live_server.url + path)
            assert page.locator("html").get_attribute("lang") == language
            if problems := violations(page, axe_source):
                found[path] = problems
        context.close()
    assert found == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dashboard_speaks_its_language_and_writes_rupees_the_indian_way(
    chromium_browser, live_server, rich_household, language
):
    context = open_context(chromium_browser, live_server, language, "phone", rich_household)
    page = context.new_page()
    page.goto(live_server.url + "/dashboard/")

    if language != "en":
        assert words(language, "Balance") != "Balance"
    expect(page.get_by_role("heading", name=words(language, "Balance"))).to_be_visible()
    expect(page.get_by_role("heading", name=words(language, "Your devices"))).to_be_visible()
    # Rendered by the server, then kept by the page's script (money.js) frame after frame.
    balance = page.locator("#balance data.money")
    expect(balance).to_have_attribute("value", re.compile(r"^100\d{5}\.\d{6}$"))
    rupees = "el => el.firstChild.nodeValue"
    assert re.fullmatch(r"₹1,00,00,\d{3}\.\d\d", balance.evaluate(rupees))
    assert re.fullmatch(r"₹1,00,\d{3}\.\d\d", page.locator("#today data.money").evaluate(rupees))
    assert re.fullmatch(r"₹1,00,00,\d{3}\.\d\d", page.locator("#month data.money").evaluate(rupees))
    # The page writes times as the server does (the month from the same catalogue).
    moment = "2026-12-01T01:02:03+00:00"
    with translation.override(language):
        server = when(moment)
    assert page.evaluate("m => window.celcWhen.dateTime(m)", moment) == server
    assert server.startswith("1 " + words(language, "dec").title())
    # Heard from an hour ago: the device is offline, in the page's words.
    cell = page.locator("#devices [data-field='state']")
    expect(cell).to_have_text(words(language, "Offline"))
    context.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_board_and_the_sign_up_speak_their_language(
    chromium_browser, live_server, board_staff, language
):
    context = open_context(chromium_browser, live_server, language, "desktop", board_staff)
    page = context.new_page()
    page.goto(live_server.url + "/board/")
    expect(page.get_by_role("heading", name=words(language, "The network"))).to_be_visible()
    expect(
        page.get_by_role("heading", name=words(language, "Compensation by area"))
    ).to_be_visible()
    context.close()

    context = open_context(chromium_browser, live_server, language, "phone")
    page = context.new_page()
    page.goto(live_server.url + "/accounts/signup/")
    heading = words(language, "Sign up your household")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("button", name=words(language, "Create account"))).to_be_visible()
    context.close()


def tab_to(page, name: str, limit: int = 120):
    """Press Tab until the focused element is `name`: its text, or `#id` for a field."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const el = document.activeElement;
                       return [el.id, (el.innerText || el.value || "").trim()]; }"""
        )
        if name in (f"#{focused[0]}", focused[1]):
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_a_household_signs_in_switches_language_and_signs_out_by_keyboard_alone(
    page, live_server, alice, register_device
):
    register_device(alice, name="Home meter")
    page.goto(live_server.url + "/")

    tab_to(page, "Sign in")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    tab_to(page, "#id_username")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type("alice-password-1")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/$"))

    tab_to(page, "தமிழ்")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", name=words("ta", "Balance"))).to_be_visible()
    alice.refresh_from_db()
    assert alice.language == "ta"

    tab_to(page, words("ta", "Set where your payouts go"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/payout-details/$"))
    expect(page.get_by_role("heading", name=words("ta", "Where your payouts go"))).to_be_visible()

    tab_to(page, words("ta", "Sign out") + " (alice)")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name=words("ta", "Sign in")).first).to_be_visible()
