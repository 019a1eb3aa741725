import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_explains_the_product_on_the_landing_page(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b"Paid for every second your power is cut" in response.content
    assert reverse("accounts:signup").encode() in response.content


def test_it_signs_up_a_household_and_opens_its_dashboard(client):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert get_user_model().objects.filter(username="carol").exists()
    assert client.get(reverse("dashboard")).context["user"].username == "carol"


def test_it_refuses_a_signup_with_mismatched_passwords_and_stores_nothing(client):
    response = client.post(
        "/accounts/signup/",
        {"username": "carol", "password1": "a-long-passphrase", "password2": "another-one-2"},
    )

    assert response.status_code == 200
    assert b"The two password fields" in response.content
    assert not get_user_model().objects.filter(username="carol").exists()


def test_it_signs_in_with_username_and_password(client, alice):
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password-1"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_it_says_why_a_wrong_password_fails(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_it_signs_out_only_by_post(client, alice):
    client.force_login(alice)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_it_changes_a_password(client, alice):
    client.force_login(alice)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "alice-password-1",
            "new_password1": "a-brand-new-passphrase",
            "new_password2": "a-brand-new-passphrase",
        },
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-brand-new-passphrase")


def test_it_sends_the_anonymous_from_the_dashboard_to_sign_in(client):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_it_shows_a_household_only_its_own_devices(client, alice, bob, register_device):
    register_device(alice, name="Alice's meter")
    register_device(bob, name="Bob's meter", area_code="DL-SKT-007")
    client.force_login(alice)

    response = client.get(reverse("dashboard"))

    assert b"Alice&#x27;s meter" in response.content
    assert b"Bob&#x27;s meter" not in response.content


def test_it_keeps_households_out_of_the_admin(client, alice):
    client.force_login(alice)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_enforces_csrf_on_sign_in(alice):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "alice-password-1"}
    )

    assert response.status_code == 403


def test_a_household_says_where_its_payouts_go(client, alice):
    client.force_login(alice)

    response = client.post(
        "/accounts/payout-details/", {"payout_method": "upi", "payout_account": " alice@okbank "}
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.payout_method, alice.payout_account) == ("upi", "alice@okbank")


def test_bad_payout_details_are_refused_and_change_nothing(client, alice):
    client.force_login(alice)

    response = client.post(
        "/accounts/payout-details/", {"payout_method": "upi", "payout_account": "no-at-sign"}
    )

    assert response.status_code == 200
    assert b"A UPI ID looks like name@bank." in response.content
    alice.refresh_from_db()
    assert (alice.payout_method, alice.payout_account) == ("bill", "")
