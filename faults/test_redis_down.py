"""Redis down for 30 s during a cut: devices are told nothing false, the page says it is not
live, and everything catches up afterwards."""

import time

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from devices.models import Device
from faults.test_faults import Fleet, Servers, ledger_matches_closed_form, until

pytestmark = [pytest.mark.faults, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_redis_down_for_30_seconds(page, alice, register_device, server_env, tmp_path):
    device, token = register_device(alice, name="Home meter")
    servers = Servers({**server_env, "CELC_LIVE_HEARTBEAT_SECONDS": "2"}, tmp_path)
    fleet = None
    try:
        for name in ("redis", "daphne", "worker", "beat"):
            servers.start(name)
        fleet = Fleet(servers.device_url, {device.pk: token})
        fleet.start()
        agent = fleet.agents[device.pk]
        client = Client()
        client.force_login(alice)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        site = f"http://127.0.0.1:{servers.web_port}"
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": site}]
        )
        page.goto(f"{site}/dashboard/")
        status = page.locator("#live-status")
        expect(status).to_have_attribute("data-state", "live", timeout=30_000)
        expect(page.locator(".balance-card")).to_have_attribute("data-cut", "1", timeout=30_000)

        servers.kill("redis")
        down_until = time.monotonic() + 30
        expect(status).to_have_attribute("data-state", "stale", timeout=20_000)
        false_acks = []
        while time.monotonic() < down_until:
            acked = agent.acked or 0
            stored = Device.objects.values_list("last_seq", flat=True).get(pk=device.pk) or 0
            if acked > stored:
                false_acks.append((acked, stored))
            time.sleep(0.5)
        assert false_acks == []  # every ack the device got was for a stored tick
        servers.start("redis")

        expect(status).to_have_attribute("data-state", "live", timeout=90_000)
        before = page.locator("#balance").inner_text()
        page.wait_for_timeout(3000)
        assert page.locator("#balance").inner_text() != before  # rising again

        fleet.power = "on"
        until(fleet.drained, 60, "every tick to be acknowledged")
        until(lambda: ledger_matches_closed_form() == [], 60, "the ledger to catch up")
    finally:
        if fleet is not None:
            fleet.stop()
        servers.stop_all()
    made = fleet.buffers[device.pk].made
    device.refresh_from_db()
    assert device.last_seq == made[-1]["seq"]
