"""The installer's story in Chromium: register a device in the admin, reload the token page,
start the reference agent with the token, see it connected and acknowledged."""

import re
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from devices.models import Area, Device
from devtools.stack import BASE_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def installer(django_user_model):
    return django_user_model.objects.create_superuser(
        "installer", "installer@example.com", "installer-password-1"
    )


def pick(page, field: str, text: str) -> None:
    """Choose `text` in one of the admin's autocomplete pickers (select2)."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-search__field").fill(text)
    page.locator(".select2-results__option", has_text=text).first.click()


def wait_for_line(process, pattern: str, lines: list[str], timeout: float = 60) -> None:
    """Read the process's stderr until a line matches (generous: never a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return
    raise AssertionError(f"no line matching {pattern!r} in {lines}")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_installer_registers_a_device_and_its_agent_is_acknowledged(
    chromium_browser, daphne, installer, alice, server_env, tmp_path, viewport
):
    Area.objects.create(code="TN-CHN-042", name="Velachery")
    width, height = VIEWPORTS[viewport]
    page = chromium_browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{daphne.http}/admin/login/")
    page.get_by_label("Username").fill("installer")
    page.get_by_label("Password").fill("installer-password-1")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{daphne.http}/admin/devices/device/add/")
    pick(page, "household", "alice")
    page.get_by_label("Name").fill("Kitchen meter")
    pick(page, "area", "TN-CHN-042")
    page.get_by_label("Monthly units").fill("300")
    page.get_by_label("Tariff").fill("6")
    page.get_by_role("button", name="Save", exact=True).click()

    token = page.locator("code.device-token").inner_text()
    expect(page.locator("pre.agent-command")).to_contain_text(f"{daphne.url}")
    page.reload()  # what a nervous installer does: nothing is registered again
    expect(page.locator("h1")).to_have_text("The token was shown once")
    assert page.locator("code.device-token").count() == 0
    assert Device.objects.filter(name="Kitchen meter").count() == 1

    agent = subprocess.Popen(
        [sys.executable, "-m", "agent", "--url", daphne.url, "--source", "simulate",
         "--buffer", str(tmp_path / "buffer.sqlite3"), "-v"],
        cwd=BASE_DIR, env={**server_env, "CELC_DEVICE_TOKEN": token},
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        wait_for_line(agent, r"connected", lines)
        wait_for_line(agent, r"first ack", lines)
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    device = Device.objects.get(name="Kitchen meter")
    assert device.household == alice and device.last_seq is not None
