"""Where each account lands after signing in, and who the admin's household pickers list."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")


def sign_in(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_a_household_lands_on_its_dashboard(client, alice):
    response = sign_in(client, "alice", "alice-password-1")

    assert response["Location"] == reverse("dashboard")


def test_board_staff_land_on_the_board_and_have_no_dashboard_of_their_own(client, board_staff):
    response = sign_in(client, "board", "board-password-1")

    assert response["Location"] == reverse("board:board")
    assert client.get(reverse("dashboard"))["Location"] == reverse("board:board")
    assert b'href="/dashboard/"' not in client.get(reverse("board:board")).content


def test_a_superuser_lands_on_the_admin(client, superuser):
    response = sign_in(client, "root", "pw-root-123")

    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("dashboard"))["Location"] == reverse("admin:index")


def test_a_next_address_still_wins(client, board_staff):
    response = client.post(
        reverse("accounts:login") + "?next=/admin/",
        {"username": "board", "password": "board-password-1", "next": "/admin/"},
    )

    assert response["Location"] == "/admin/"


def test_staff_given_a_device_watch_it_like_a_household(client, board_staff, register_device):
    register_device(board_staff, name="Office meter")

    response = sign_in(client, "board", "board-password-1")

    assert response["Location"] == reverse("dashboard")
    assert b"Office meter" in client.get(reverse("dashboard")).content


def test_the_admins_household_pickers_list_households_only(
    client, superuser, alice, bob, board_staff
):
    client.force_login(superuser)

    form = client.get("/admin/devices/device/add/").context["adminform"].form
    choices = {label for value, label in form.fields["household"].choices if value}
    found = client.get(
        "/admin/autocomplete/",
        {"app_label": "devices", "model_name": "device", "field_name": "household", "term": ""},
    ).json()

    assert choices == {"alice", "bob"}
    assert {r["text"] for r in found["results"]} == {"alice", "bob"}


def test_a_next_back_to_the_sign_in_page_does_not_loop(client, alice):
    client.force_login(alice)

    response = client.get(reverse("accounts:login") + "?next=/accounts/login/")

    assert response.status_code == 302 and response["Location"] == reverse("dashboard")


def test_a_get_of_the_sign_out_address_asks_and_signs_out_nobody(client, alice):
    client.force_login(alice)

    page = client.get(reverse("accounts:logout"))

    assert page.status_code == 200 and b"Sign out?" in page.content
    assert client.get(reverse("dashboard")).status_code == 200  # still signed in
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("dashboard")).status_code == 302
