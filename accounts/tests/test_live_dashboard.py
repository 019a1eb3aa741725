"""The live dashboard in Chromium: a real daphne, a real device agent, real accrual runs."""

import re
import signal
import subprocess
import sys
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from devices.models import Outage
from devtools.stack import BASE_DIR
from devtools.testing import Beat
from payouts.tasks import accrue_and_broadcast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLACES_SHOWN = Decimal("0.0001")  # rupees, paise and the two sub-paise digits


@pytest.fixture
def beat():
    thread = Beat(accrue_and_broadcast)
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture
def agent(daphne, alice, register_device, tmp_path, server_env):
    """A device of alice's running the reference agent; write "on"/"off" to `.mains`."""
    _, token = register_device(alice, name="Home meter")
    mains = tmp_path / "mains"
    mains.write_text("off")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent",
            "--url",
            daphne.url,
            "--source",
            "file",
            "--file",
            str(mains),
            "--buffer",
            str(tmp_path / "agent.sqlite3"),
        ],
        cwd=BASE_DIR,
        env={**server_env, "CELC_DEVICE_TOKEN": token},
    )
    process.mains = mains
    yield process
    process.send_signal(signal.SIGCONT)  # a test that failed while it was stopped
    process.terminate()
    process.wait(timeout=10)


def signed_in(page, daphne, user):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": daphne.http}]
    )
    page.goto(f"{daphne.http}/dashboard/")


def shown_balance(page) -> Decimal:
    """The balance as displayed: ₹, rupees, paise and the two sub-paise digits."""
    return Decimal(page.locator("#balance").inner_text().replace(",", "").removeprefix("₹"))


def reading(page) -> tuple[datetime, Decimal]:
    """The page's balance as it last worked it out, with the moment it worked it out for."""
    at, exact = page.evaluate(
        "() => [document.getElementById('balance').dataset.at,"
        " document.querySelector('#balance data.money').value]"
    )
    return datetime.fromisoformat(at), Decimal(exact)


def closed_form_at(household, moment: datetime) -> Decimal:
    """What the household's balance is at `moment` by the server's closed form, its devices
    ticking on until then (payouts.quotes.extended): what the page must show."""
    from payouts import accrual
    from payouts.models import AccrualState, HouseholdBalance
    from payouts.quotes import extended
    from policy.compensation import household_owed

    def last_ticks():
        return dict(
            household.devices.values_list("current_outage_id", "current_outage__last_tick_at")
        )

    def posted_and_held():
        posted = dict(AccrualState.objects.values_list("outage_id", "posted"))
        held = HouseholdBalance.objects.filter(household=household).values_list("amount")
        return posted, held.first()

    # The device and the accrual go on meanwhile: read until no tick (and no posting) came
    # between the reads, so that the facts, their last ticks and the ledger agree.
    while True:
        ticks = last_ticks()
        facts = accrual.facts_for(accrual.Q(device__household=household))
        if last_ticks() == ticks:
            break
    while True:
        posted, held = posted_and_held()
        if posted_and_held() == (posted, held):
            break
    own = [extended(f, ticks[f.id], moment) if f.id in ticks else f for f in facts.values()]
    owed = household_owed(own, accrual.current_policies(), moment).by_outage
    return (held[0] if held else Decimal(0)) + sum(
        (owed[o] - posted.get(o, Decimal(0)) for o in owed), Decimal(0)
    )


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_balance_ticks_from_quotes_pauses_when_the_device_is_silent_and_rests_at_the_ledger(
    page, daphne, alice, agent, beat, viewport
):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    refused = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    heard = []  # what the page heard, to say why if the figure does not rest where it should
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda frame: heard.append((datetime.now(), frame))),
    )
    signed_in(page, daphne, alice)
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live", timeout=30_000)
    card = page.locator(".balance-card")
    expect(card).to_have_attribute("data-cut", "1", timeout=30_000)
    row = page.locator('tr[data-device] [data-field="state"]')
    expect(row).to_have_text("Power cut")
    # Opened again in the middle of the cut, as a household would: its figures start from
    # the server's, with money already earned.
    page.wait_for_timeout(3000)
    page.reload()
    expect(status).to_have_attribute("data-state", "live", timeout=30_000)
    expect(card).to_have_attribute("data-cut", "1", timeout=30_000)
    # It shows the server's figure until its count, two seconds behind the clock, reaches it.
    expect(page.locator("#balance")).to_have_attribute("data-at", re.compile("."), timeout=30_000)

    # Read every 250 ms: the closed form at that instant, to the places shown; never down.
    # A server too loaded to store a tick for 2.5 s pauses the count (devices.live.PAUSE_AFTER)
    # while the closed form here counts on from the last tick stored: such a reading is not
    # compared (the pause itself is tested below).
    readings = []
    for _ in range(60):
        before = row.inner_text()
        at, exact = reading(page)
        if "silent" in before or "silent" in row.inner_text():
            page.wait_for_timeout(250)
            continue
        readings.append(exact)
        expected = closed_form_at(alice, at)
        assert exact.quantize(PLACES_SHOWN, ROUND_DOWN) == expected.quantize(
            PLACES_SHOWN, ROUND_DOWN
        ), (at, exact, expected, Outage.objects.get().intervals(), heard[-8:])
        if len(readings) == 12:
            break
        page.wait_for_timeout(250)
    assert len(readings) == 12, "the device was silent most of the time"
    assert readings == sorted(readings) and readings[-1] > readings[0]

    # The device falls silent: the page stops counting its cut, then goes on when it ticks.
    agent.send_signal(signal.SIGSTOP)
    expect(row).to_have_text("Power cut: device silent", timeout=15_000)
    paused = shown_balance(page)
    page.wait_for_timeout(1500)
    assert shown_balance(page) == paused
    agent.send_signal(signal.SIGCONT)
    expect(row).to_have_text("Power cut", timeout=15_000)
    page.wait_for_timeout(2500)
    assert shown_balance(page) > paused

    # The server goes away mid-cut: everything live stops together and says since when.
    timer = page.locator('tr[data-device] [data-field="timer"]')
    daphne.kill()
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=30_000)
    expect(card).to_have_attribute("data-frozen", "1")
    expect(page.locator("#frozen-note")).to_contain_text("Not live since")
    expect(page.locator("#balance-rate")).to_contain_text("as of")
    frozen_balance, frozen_timer = shown_balance(page), timer.inner_text()
    page.wait_for_timeout(2500)
    assert (shown_balance(page), timer.inner_text()) == (frozen_balance, frozen_timer)
    daphne.start()
    expect(status).to_have_attribute("data-state", "live", timeout=60_000)
    expect(card).to_have_attribute("data-frozen", "0", timeout=30_000)
    expect(page.locator("#frozen-note")).to_be_hidden()
    page.wait_for_timeout(3000)
    assert shown_balance(page) > frozen_balance  # live again, catching up
    assert timer.inner_text() != frozen_timer

    # Power back: the figure stops, and rests at exactly what the ledger holds once the
    # accrual has posted the cut in full (same format as during the cut: no jump).
    agent.mains.write_text("on")
    expect(card).to_have_attribute("data-cut", "0", timeout=30_000)
    expect(row).to_have_text("Power on", timeout=30_000)
    held = Decimal(0)
    for _ in range(60):
        page.wait_for_timeout(500)
        state = page.request.get(f"{daphne.http}/api/me/summary").json()
        held = Decimal(state["money"]["ledger"])
        if held == Decimal(state["balance"]):  # nothing owed beyond the ledger: all posted
            break
    # The page counts two seconds behind the clock (live.js, LAG): it reaches the cut's end
    # a moment after the ledger may; at rest it shows exactly what is owed (a power back
    # heard after the count passed it corrects the figure), then stays there.
    ended_at = Outage.objects.get().ended_at
    for _ in range(40):
        at, exact = reading(page)
        if at > ended_at and exact == held:
            break
        page.wait_for_timeout(250)
    page.wait_for_timeout(1500)
    outage = Outage.objects.get()
    assert reading(page)[1] == exact == held, (
        reading(page),
        exact,
        held,
        outage.ended_at,
        outage.intervals(),
        heard[-8:],
    )
    assert page.locator("#balance data.money").get_attribute("title") == f"₹{held}"
    # Today's and the month's figures count the same money: never more than the balance,
    # which holds all alice ever earned (from the review: the page counted its first two
    # seconds twice in them, and kept them until reloaded).
    for figure in ("#today", "#month"):
        earned = Decimal(page.locator(f"{figure} data.money").get_attribute("value"))
        assert Decimal(0) < earned <= held, (figure, earned, held)
    assert refused == []  # the page needs nothing its Content-Security-Policy forbids
