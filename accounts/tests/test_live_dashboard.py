"""The live dashboard in Chromium: a real daphne, a real device agent, real accrual runs."""

import subprocess
import sys
import time
from decimal import ROUND_DOWN, Decimal

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from celc.stack import BASE_DIR
from celc.testing import Beat
from payouts.tasks import accrue_and_broadcast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
            "devices.agent",
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
    return Decimal(page.locator("#balance").inner_text().replace(",", ""))


def test_the_balance_rises_live_during_a_cut_stops_after_it_and_survives_a_restart(
    page, daphne, alice, agent, beat
):
    refused = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    signed_in(page, daphne, alice)
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "live", timeout=30_000)

    # The cut reaches the page: the balance card says so and the figure rises.
    card = page.locator(".balance-card")
    expect(card).to_have_attribute("data-cut", "1", timeout=30_000)
    before = shown_balance(page)
    page.wait_for_timeout(3000)
    after = shown_balance(page)
    assert after > before

    # What the page shows is what the server says, within what the rate adds in the
    # few seconds the page may extrapolate (and 4 displayed decimals).
    summary = page.request.get(f"{daphne.http}/api/me/summary").json()
    shown = shown_balance(page)
    rate = Decimal(summary["rate_per_second"])
    assert rate > 0
    assert abs(shown - Decimal(summary["balance"])) <= rate * 4 + Decimal("0.0001")
    row = page.locator('tr[data-device] [data-field="state"]')
    expect(row).to_have_text("Power cut")

    # Power back: the device sends `on`, the figure stops.
    agent.mains.write_text("on")
    expect(card).to_have_attribute("data-cut", "0", timeout=30_000)
    expect(row).to_have_text("Power on", timeout=30_000)
    rested = shown_balance(page)
    page.wait_for_timeout(2500)
    assert shown_balance(page) == rested
    # At rest the page shows whole paise of exactly what the server holds.
    final = Decimal(page.request.get(f"{daphne.http}/api/me/summary").json()["balance"])
    assert final >= after
    assert rested == final.quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    # The server restarts: the page says so, then is live again by itself.
    daphne.kill()
    expect(status).to_have_attribute("data-state", "reconnecting", timeout=30_000)
    time.sleep(1)
    daphne.start()
    expect(status).to_have_attribute("data-state", "live", timeout=60_000)
    assert shown_balance(page) == rested
    assert refused == []  # the page needs nothing its Content-Security-Policy forbids
