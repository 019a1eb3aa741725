"""The beat task end to end: accrual, then one update per changed household over real Redis."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone

from celc.asgi import application
from devices.ingest import store_ticks
from devices.protocol import Tick
from payouts.tasks import accrue_and_broadcast
from policy import evidence
from policy.models import Policy

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def login_cookie(user):
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def watch(user):
    ws = WebsocketCommunicator(
        application,
        "/ws/balance/",
        headers=[
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", (await login_cookie(user)).encode()),
        ],
    )
    assert (await ws.connect())[0]
    return ws


def cut_now(device, seconds=60):
    now = timezone.now()
    ticks = [
        Tick(seq=i + 1, ts=now - timedelta(seconds=seconds - i), power="off")
        for i in range(seconds + 1)
    ]
    store_ticks({device.pk: ticks}, received_at=now)


async def test_a_run_tells_the_household_in_a_cut_and_nobody_else(alice, bob, register_device):
    device, _ = await database_sync_to_async(register_device)(alice)
    await database_sync_to_async(register_device)(bob, area_code="DL-SKT-007")
    await database_sync_to_async(cut_now)(device)
    alice_ws, bob_ws = await watch(alice), await watch(bob)

    summary = await database_sync_to_async(accrue_and_broadcast)()

    update = await alice_ws.receive_json_from(timeout=10)
    assert summary["posted"] == 1 and summary["quotes"] == 1
    assert update["type"] == "quote"
    assert float(update["balance"]) > 0
    assert float(update["rate_per_second"]) > 0
    (shown,) = update["devices"]
    assert shown["state"] == "off" and shown["outage"]["status"] == "ongoing"
    assert shown["outage"]["owed"] == update["balance"]
    assert await bob_ws.receive_nothing(timeout=1)
    # Nothing changed since: the next run posts and sends nothing (its quote holds).
    again = await database_sync_to_async(accrue_and_broadcast)()
    assert (again["posted"], again["quotes"]) == (0, 0)
    await alice_ws.disconnect()
    await bob_ws.disconnect()


def test_ingestion_follows_the_max_gap_of_the_policy_in_force(alice, register_device):
    Policy.objects.create(
        name="Strict", effective_from=timezone.now() - timedelta(seconds=1), max_gap_seconds=5
    )
    evidence.forget()
    device, _ = register_device(alice)
    now = timezone.now()
    try:
        store_ticks(
            {
                device.pk: [
                    Tick(1, now - timedelta(seconds=20), "off"),
                    Tick(2, now - timedelta(seconds=10), "off"),
                ]
            },
            received_at=now,
        )
    finally:
        evidence.forget()

    outage = device.outages.get()
    assert outage.gaps == 1 and outage.witnessed_seconds == 0
