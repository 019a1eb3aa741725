import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from devices import services
from devices.models import Area, Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")
    client.force_login(admin)
    return client


def test_adding_a_device_shows_its_token_once(admin_client, alice):
    area = Area.objects.create(code="TN-CHN-042", name="Velachery")

    response = admin_client.post(
        "/admin/devices/device/add/",
        {
            "household": alice.pk,
            "name": "Meter 1",
            "area": area.pk,
            "monthly_units": "300",
            "tariff": "6",
        },
    )

    assert response.status_code == 200
    token = (
        re.search(rb'class="device-token"[^>]*>(ced_[\w-]+)<', response.content).group(1).decode()
    )
    device = Device.objects.get()
    assert services.device_for_token(token) == device
    assert "no-store" in response["Cache-Control"]
    page = admin_client.get(f"/admin/devices/device/{device.pk}/change/").content.decode()
    assert token not in page and device.token_prefix in page


def test_regenerating_shows_the_new_token_and_kills_the_old(admin_client, alice, register_device):
    device, old = register_device(alice)

    response = admin_client.post(
        "/admin/devices/device/", {"action": "regenerate_tokens", "_selected_action": [device.pk]}
    )

    new = re.search(rb'class="device-token"[^>]*>(ced_[\w-]+)<', response.content).group(1).decode()
    assert services.device_for_token(old) is None
    assert services.device_for_token(new) == device


def test_revoking_from_the_admin(admin_client, alice, register_device):
    device, token = register_device(alice)

    admin_client.post(
        "/admin/devices/device/", {"action": "revoke", "_selected_action": [device.pk]}
    )

    device.refresh_from_db()
    assert device.is_revoked and services.device_for_token(token) is None


def test_the_device_list_filters_by_state_area_and_household(
    admin_client, alice, bob, register_device
):
    register_device(alice, name="Alpha")
    revoked, _ = register_device(bob, name="Bravo", area_code="DL-SKT-007")
    services.device_revoke(device=revoked)

    revoked_page = admin_client.get("/admin/devices/device/?state=revoked").content
    unknown_page = admin_client.get("/admin/devices/device/?state=unknown").content
    search_page = admin_client.get("/admin/devices/device/?q=DL-SKT").content

    assert b"Bravo" in revoked_page and b"Alpha" not in revoked_page
    assert b"Alpha" in unknown_page and b"Bravo" not in unknown_page
    assert b"Bravo" in search_page and b"Alpha" not in search_page


def test_board_staff_can_read_devices_but_not_revoke_them(
    client, board_staff, alice, register_device
):
    device, _ = register_device(alice)
    client.force_login(board_staff)

    assert client.get("/admin/devices/device/").status_code == 200
    client.post("/admin/devices/device/", {"action": "revoke", "_selected_action": [device.pk]})

    device.refresh_from_db()
    assert not device.is_revoked


def test_register_device_prints_the_token_alone_on_the_last_line(alice):
    out = StringIO()

    call_command(
        "register_device",
        "--household",
        "alice",
        "--name",
        "Meter 1",
        "--area",
        "TN-CHN-042",
        "--monthly-units",
        "300",
        "--tariff",
        "6.00",
        stdout=out,
    )

    token = out.getvalue().strip().splitlines()[-1]
    device = services.device_for_token(token)
    assert device.name == "Meter 1" and device.area.code == "TN-CHN-042"
    assert str(device.tariff) == "6.0000" and device.household == alice


@pytest.mark.parametrize(
    "args, message",
    [
        (["--household", "nobody"], "No household"),
        (["--tariff", "abc"], "not a number"),
        (["--monthly-units", "-5"], "monthly_units"),
    ],
)
def test_register_device_refuses_bad_input_and_stores_nothing(alice, args, message):
    base = {
        "--household": "alice",
        "--name": "M",
        "--area": "X-1",
        "--monthly-units": "300",
        "--tariff": "6",
    }
    base.update(dict(zip(args[::2], args[1::2], strict=True)))

    with pytest.raises(CommandError, match=message):
        call_command("register_device", *[part for pair in base.items() for part in pair])

    assert not Device.objects.exists() and not Area.objects.exists()


def test_outages_are_shown_with_their_intervals_and_cannot_be_edited(
    admin_client, alice, register_device
):
    from datetime import timedelta

    from django.utils import timezone

    from devices.ingest import store_ticks
    from devices.models import Outage
    from devices.protocol import Tick

    device, _ = register_device(alice)
    now = timezone.now()
    store_ticks(
        {
            device.pk: [
                Tick(1, now - timedelta(seconds=2), "off"),
                Tick(2, now - timedelta(seconds=1), "on"),
            ]
        },
        received_at=now,
    )
    outage = Outage.objects.get()

    assert b"Home meter" in admin_client.get("/admin/devices/outage/").content
    page = admin_client.get(f"/admin/devices/outage/{outage.pk}/change/")
    assert page.status_code == 200 and b"Witnessed interval" in page.content
    admin_client.post(f"/admin/devices/outage/{outage.pk}/change/", {"status": "ongoing"})
    outage.refresh_from_db()
    assert outage.status == "ended"
