"""Repeated wrong passwords lock a username out from that address (django-axes)."""

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def sign_in(client, password, path="/accounts/login/"):
    return client.post(path, {"username": "alice", "password": password})


def test_after_the_limit_even_the_right_password_is_refused(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "wrong").status_code == 200  # the form again, with its error
    assert sign_in(client, "wrong").status_code == 429  # the last allowed failure locks

    locked = sign_in(client, "alice-password-1")

    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_is_locked_the_same_way(client, board_staff):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "board", "password": "wrong"})

    locked = client.post("/admin/login/", {"username": "board", "password": "board-password-1"})

    assert locked.status_code == 429


def test_a_success_before_the_limit_starts_the_count_again(client, alice):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")
    assert sign_in(client, "alice-password-1").status_code == 302
    client.post("/accounts/logout/")

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "wrong")

    assert sign_in(client, "alice-password-1").status_code == 302


def test_another_username_from_the_same_address_is_not_locked(client, alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "wrong")

    response = client.post("/accounts/login/", {"username": "bob", "password": "bob-password-1"})

    assert response.status_code == 302
