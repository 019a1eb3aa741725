import random
from datetime import UTC, datetime, time, timedelta

import pytest
from channels.db import database_sync_to_async

from agent import reference as agent_module
from agent.fleet import FleetDevice, Scenario, parse_window, run_fleet
from devices.models import Device, Outage


def test_an_area_window_cuts_that_area_only_during_the_window():
    scenario = Scenario(windows={"TN-CHN-042": (time(9), time(17))}, random_cuts_per_hour=0)
    ist = datetime(2026, 11, 27, 10, tzinfo=UTC).astimezone()

    assert scenario.area_is_cut("TN-CHN-042", ist.replace(hour=10))
    assert not scenario.area_is_cut("TN-CHN-042", ist.replace(hour=18))


def test_periodic_area_cuts_last_cut_length_of_every_period():
    scenario = Scenario(cut_every=300, cut_length=120, random_cuts_per_hour=0)
    start = datetime(2026, 11, 27, tzinfo=UTC)

    cut = [scenario.area_is_cut("DL-SKT-007", start + timedelta(seconds=s)) for s in range(3000)]

    assert sum(cut) == 10 * 120


def test_a_window_must_be_well_formed():
    assert parse_window("A=09:00-17:00") == ("A", (time(9), time(17)))
    with pytest.raises(ValueError, match="AREA=HH:MM-HH:MM"):
        parse_window("A=9-5pm")


@pytest.mark.django_db(transaction=True)
async def test_the_fleet_streams_cuts_and_its_flaky_device_reconnects(
    daphne, alice, bob, register_device, monkeypatch
):
    monkeypatch.setattr(agent_module, "BACKOFF_CAP", 0.5)
    a, a_token = await database_sync_to_async(register_device)(alice, area_code="TN-CHN-042")
    b, b_token = await database_sync_to_async(register_device)(bob, area_code="DL-SKT-007")
    # Every area is cut the whole time: both devices tick each second.
    scenario = Scenario(cut_every=60, cut_length=60, random_cuts_per_hour=0, rng=random.Random(1))
    fleet = [FleetDevice("a", a_token, "TN-CHN-042"), FleetDevice("b", b_token, "DL-SKT-007")]

    agents = await run_fleet(daphne.url, fleet, scenario, flaky=1, flaky_every=(1.5, 2), duration=6)

    assert agents[0].connections >= 2  # the flaky one dropped and came back
    assert agents[1].connections == 1

    @database_sync_to_async
    def outcome():
        return {
            d.pk: (d.power_state, Outage.objects.filter(device=d).count())
            for d in Device.objects.all()
        }

    assert await outcome() == {a.pk: ("off", 1), b.pk: ("off", 1)}


@pytest.mark.django_db(transaction=True)
def test_simulate_fleet_registers_what_it_lacks_and_streams(daphne, tmp_path, monkeypatch):
    from django.core.management import call_command

    from devtools.management.commands import simulate_fleet

    monkeypatch.setattr(simulate_fleet, "DEMO_TOKENS", tmp_path / "demo.json")
    monkeypatch.setattr(simulate_fleet, "FLEET_TOKENS", tmp_path / "fleet.json")

    call_command(
        "simulate_fleet",
        "--devices",
        "3",
        "--url",
        daphne.url,
        "--duration",
        "3",
        "--cut-length",
        "300",
    )
    call_command("simulate_fleet", "--devices", "3", "--url", daphne.url, "--duration", "1")

    assert Device.objects.count() == 3  # the second run reused the first run's devices
    assert Device.objects.filter(last_seen_at__isnull=False).count() == 3
