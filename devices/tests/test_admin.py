import json
import re
from decimal import Decimal
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


TOKEN = re.compile(rb'class="device-token"[^>]*>(ced_[\w-]+)<')


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
        follow=True,
    )

    assert response.redirect_chain == [("/admin/devices/device/token/", 302)]
    token = TOKEN.search(response.content).group(1).decode()
    device = Device.objects.get()
    assert services.device_for_token(token) == device
    assert "no-store" in response["Cache-Control"]
    assert b"ws://testserver/ws/device/" in response.content  # how to start its agent
    page = admin_client.get(f"/admin/devices/device/{device.pk}/change/").content.decode()
    assert token not in page and device.token_prefix in page


def test_reloading_the_token_page_registers_nothing_and_shows_no_token(admin_client, alice):
    area = Area.objects.create(code="TN-CHN-042", name="Velachery")
    form = {"household": alice.pk, "name": "Meter 1", "area": area.pk}
    admin_client.post(
        "/admin/devices/device/add/", {**form, "monthly_units": "300", "tariff": "6"}, follow=True
    )

    reloaded = admin_client.get("/admin/devices/device/token/")

    assert reloaded.status_code == 200
    assert TOKEN.search(reloaded.content) is None
    assert b"The token was shown once" in reloaded.content
    assert Device.objects.count() == 1


def test_the_token_page_shows_no_forged_or_expired_token(admin_client, alice, register_device):
    device, _ = register_device(alice)
    forged = {"what": "x", "minted": [[device.pk, "ced_forged"]]}
    admin_client.cookies["celc_new_tokens"] = json.dumps(forged)

    response = admin_client.get("/admin/devices/device/token/")

    assert b"ced_forged" not in response.content


def test_a_token_cookie_shows_nothing_to_another_session_or_to_staff_who_cannot_change_devices(
    client, admin_client, alice, board_staff, django_user_model
):
    area = Area.objects.create(code="TN-CHN-042", name="Velachery")
    form = {"household": alice.pk, "name": "Meter 1", "area": area.pk, "tariff": "6"}
    admin_client.post("/admin/devices/device/add/", {**form, "monthly_units": "300"})
    cookie = admin_client.cookies["celc_new_tokens"]
    assert "expires" not in cookie.output().lower() and "max-age" not in cookie.output().lower()

    other = django_user_model.objects.create_superuser("other", "o@example.com", "pw-other-123")
    client.force_login(other)  # another user, another session
    client.cookies["celc_new_tokens"] = cookie.value
    assert TOKEN.search(client.get("/admin/devices/device/token/").content) is None
    client.force_login(board_staff)  # staff without the right to change devices
    client.cookies["celc_new_tokens"] = cookie.value
    assert client.get("/admin/devices/device/token/").status_code == 403


def test_regenerating_shows_the_new_token_once_and_kills_the_old(
    admin_client, alice, register_device
):
    device, old = register_device(alice)

    response = admin_client.post(
        "/admin/devices/device/",
        {"action": "regenerate_tokens", "_selected_action": [device.pk]},
        follow=True,
    )

    assert response.redirect_chain == [("/admin/devices/device/token/", 302)]
    new = TOKEN.search(response.content).group(1).decode()
    assert services.device_for_token(old) is None
    assert services.device_for_token(new) == device
    assert TOKEN.search(admin_client.get("/admin/devices/device/token/").content) is None


def test_revoking_from_the_admin_asks_first(admin_client, alice, register_device):
    device, token = register_device(alice)
    chosen = {"action": "revoke", "_selected_action": [device.pk]}

    asked = admin_client.post("/admin/devices/device/", chosen)
    device.refresh_from_db()
    assert "Revoking cannot be undone" in asked.content.decode() and not device.is_revoked

    admin_client.post("/admin/devices/device/", {**chosen, "confirmed": "yes"})

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


def test_changing_the_tariff_in_the_admin_applies_from_now_on(admin_client, alice, register_device):
    device, _ = register_device(alice)
    form = {
        "household": alice.pk,
        "name": device.name,
        "area": device.area.pk,
        "monthly_units": "300",
        "tariff": "7.50",
    }

    admin_client.post(f"/admin/devices/device/{device.pk}/change/", form)

    device.refresh_from_db()
    first, latest = device.supply_changes.order_by("effective_from")
    assert (first.effective_from, first.tariff) == (device.registered_at, Decimal("6.0000"))
    assert latest.tariff == device.tariff == Decimal("7.5000")
    assert latest.changed_by.username == "root"


def test_a_devices_household_and_area_cannot_be_changed_after_registration(
    admin_client, alice, bob, register_device
):
    device, _ = register_device(alice)
    elsewhere = Area.objects.create(code="DL-SKT-007", name="Saket")
    form = {"household": bob.pk, "name": "Renamed", "area": elsewhere.pk}

    admin_client.post(
        f"/admin/devices/device/{device.pk}/change/",
        {**form, "monthly_units": "300", "tariff": "6"},
    )

    device.refresh_from_db()
    assert (device.household, device.area.code, device.name) == (alice, "TN-CHN-042", "Renamed")
