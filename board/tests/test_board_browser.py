"""A board-staff member watches /board/ in Chromium while the fleet simulator cuts an area."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from board.tasks import board_update
from devtools.stack import BASE_DIR
from devtools.testing import Beat
from payouts.tasks import accrue_and_broadcast

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fleet(daphne, server_env, tmp_path):
    """One simulated device whose area is cut 10 s in every 30 (its own tokens in tmp_path)."""
    process = subprocess.Popen(
        [
            sys.executable, "manage.py", "simulate_fleet", "--devices", "1", "--flaky", "0",
            "--random-cuts-per-hour", "0", "--cut-every", "30", "--cut-length", "10",
            "--url", daphne.url,
        ],
        cwd=BASE_DIR, env={**server_env, "CELC_VAR_DIR": str(tmp_path)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    yield process
    process.terminate()
    process.wait(timeout=10)


def test_board_staff_see_an_area_go_out_and_come_back_live(page, daphne, board_staff, fleet):
    refused = []
    page.on("console", lambda m: "Content Security Policy" in m.text and refused.append(m.text))
    client = Client()
    client.force_login(board_staff)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": daphne.http,
            }
        ]
    )
    beat = Beat(accrue_and_broadcast, board_update)
    beat.start()
    try:
        page.goto(f"{daphne.http}/board/")
        expect(page.locator("#board-live")).to_have_attribute("data-state", "live", timeout=30_000)
        rows = page.locator("#areas-out-rows tr[data-area]")
        # Whatever the page loaded with, the area comes back on, then goes out, unreloaded.
        expect(page.locator("#all-on")).to_be_visible(timeout=40_000)
        expect(rows).to_have_count(1, timeout=40_000)
        expect(rows.first.locator("td").first).to_have_text("1 of 1")
        expect(page.locator("#areas-announce")).to_contain_text("Power out now in")
        expect(page.locator("#all-on")).to_be_hidden()
        # The board pays for it, and the figure comes from the server.
        expect(page.locator("#paying-now")).not_to_have_text("0.000000", timeout=10_000)
        # ... and it comes back on again by itself.
        expect(page.locator("#all-on")).to_be_visible(timeout=40_000)
    finally:
        beat.stop()
    assert refused == []
