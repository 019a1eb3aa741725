"""Every state-changing form refuses a POST without its CSRF token."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

FORMS = [
    ("/accounts/signup/", None),
    ("/accounts/login/", None),
    ("/accounts/logout/", "alice"),
    ("/accounts/password_change/", "alice"),
    ("/accounts/payout-details/", "alice"),
    ("/admin/payouts/payout/", "board"),
    ("/admin/policy/policy/add/", "board"),
]


@pytest.mark.parametrize(("url", "who"), FORMS)
def test_a_post_without_the_csrf_token_is_refused(url, who, alice, board_staff):
    client = Client(enforce_csrf_checks=True)
    if who:
        client.force_login({"alice": alice, "board": board_staff}[who])

    response = client.post(url, {"username": "alice", "password": "alice-password-1"})

    assert response.status_code == 403
