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

    asked = client.get("/accounts/logout/")  # asks, signs nobody out
    assert asked.status_code == 200 and b"Sign out?" in asked.content
    assert client.get(reverse("dashboard")).status_code == 200
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


DESTINATION = (
    "payout_method",
    "payout_upi_id",
    "payout_bank_account",
    "payout_ifsc",
    "payout_account_holder",
    "payout_consumer_number",
)


def destination_of(user):
    user.refresh_from_db()
    return {name: getattr(user, name) for name in DESTINATION if getattr(user, name)}


def test_a_new_household_has_no_payout_destination(client, alice):
    client.force_login(alice)

    page = client.get("/accounts/payout-details/")

    assert destination_of(alice) == {}
    assert not alice.payout_destination_ready() and alice.payout_destination_label() == ""
    assert b"Not set yet." in page.content
    assert b"checked" not in page.content  # no method chosen for them


@pytest.mark.parametrize(
    ("posted", "stored", "label"),
    [
        (
            {"payout_method": "upi", "payout_upi_id": " Alice@OKBank "},
            {"payout_method": "upi", "payout_upi_id": "alice@okbank"},
            "UPI to alice@okbank",
        ),
        (
            {
                "payout_method": "bank",
                "payout_bank_account": "1234 5678 4321",
                "payout_ifsc": "hdfc0001234",
                "payout_account_holder": "  Alice   Rao ",
                "payout_upi_id": "left@over",  # another method's field: dropped
            },
            {
                "payout_method": "bank",
                "payout_bank_account": "123456784321",
                "payout_ifsc": "HDFC0001234",
                "payout_account_holder": "Alice Rao",
            },
            "Bank transfer to account ending 4321 (HDFC0001234)",
        ),
        (
            {"payout_method": "bill", "payout_consumer_number": "01-2345-6789"},
            {"payout_method": "bill", "payout_consumer_number": "0123456789"},
            "Credit on the electricity bill of consumer 0123456789",
        ),
    ],
)
def test_a_household_says_where_its_payouts_go(client, alice, posted, stored, label):
    client.force_login(alice)

    response = client.post("/accounts/payout-details/", {**posted, "password": "alice-password-1"})

    assert response.status_code == 302
    assert destination_of(alice) == stored
    assert alice.payout_destination_ready() and alice.payout_destination_label() == label


@pytest.mark.parametrize(
    ("posted", "field", "error"),
    [
        ({}, "payout_method", "Choose how you are paid"),
        ({"payout_method": "cash"}, "payout_method", "Select a valid choice"),
        ({"payout_method": "upi"}, "payout_upi_id", "Give your UPI ID"),
        (
            {"payout_method": "upi", "payout_upi_id": "no-at-sign"},
            "payout_upi_id",
            "A UPI ID looks like name@bank",
        ),
        (
            {"payout_method": "upi", "payout_upi_id": "alice@ok bank.com"},
            "payout_upi_id",
            "A UPI ID looks like name@bank",
        ),
        (
            {"payout_method": "bank", "payout_bank_account": "12345678"},
            "payout_bank_account",
            "An account number is 9 to 18 digits.",
        ),
        (
            {"payout_method": "bank", "payout_bank_account": "1234567890123456789"},
            "payout_bank_account",
            "An account number is 9 to 18 digits.",
        ),
        (
            {"payout_method": "bank", "payout_bank_account": "12345678901A"},
            "payout_bank_account",
            "An account number is 9 to 18 digits.",
        ),
        ({"payout_method": "bank"}, "payout_ifsc", "Give the branch&#x27;s IFSC"),
        (
            {"payout_method": "bank", "payout_ifsc": "HDFC1001234"},  # 5th is not a zero
            "payout_ifsc",
            "An IFSC is 11 characters",
        ),
        ({"payout_method": "bank"}, "payout_account_holder", "account holder&#x27;s name"),
        ({"payout_method": "bill"}, "payout_consumer_number", "Give the consumer number"),
        (
            {"payout_method": "bill", "payout_consumer_number": "12345"},
            "payout_consumer_number",
            "A consumer number is 6 to 20 letters or digits",
        ),
    ],
)
def test_bad_payout_details_are_refused_and_change_nothing(client, alice, posted, field, error):
    alice.payout_method, alice.payout_upi_id = "upi", "alice@okbank"
    alice.save()
    client.force_login(alice)

    response = client.post("/accounts/payout-details/", posted)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert error.encode() in response.content
    assert destination_of(alice) == {"payout_method": "upi", "payout_upi_id": "alice@okbank"}
    assert b"Now: <strong>UPI to alice@okbank</strong>" in response.content


def test_changing_where_payouts_go_needs_the_households_password(client, alice):
    alice.payout_method, alice.payout_upi_id = "upi", "alice@okbank"
    alice.save()
    client.force_login(alice)  # a session left open on a shared phone, say
    posted = {"payout_method": "upi", "payout_upi_id": "mule@ybl"}

    without = client.post("/accounts/payout-details/", posted)
    wrong = client.post("/accounts/payout-details/", {**posted, "password": "guess-123456"})

    assert without.status_code == wrong.status_code == 200
    assert "Give your password" in without.content.decode()
    assert "That is not your password." in wrong.content.decode()
    alice.refresh_from_db()
    assert alice.payout_upi_id == "alice@okbank"


def test_switching_method_clears_the_old_methods_details_even_when_left_out(client, alice):
    alice.payout_method = "bank"
    alice.payout_bank_account, alice.payout_ifsc = "123456784321", "HDFC0001234"
    alice.payout_account_holder = "Alice"
    alice.save()
    client.force_login(alice)

    client.post(
        "/accounts/payout-details/",
        {"payout_method": "upi", "payout_upi_id": "alice@okbank", "password": "alice-password-1"},
    )

    alice.refresh_from_db()
    assert (alice.payout_bank_account, alice.payout_ifsc, alice.payout_account_holder) == (
        "",
        "",
        "",
    )


def test_invisible_control_characters_are_refused_in_a_destination(client, alice):
    client.force_login(alice)
    posted = {
        "payout_method": "bank",
        "payout_bank_account": "123456784321",
        "payout_ifsc": "HDFC0001234",
        "payout_account_holder": "Alice \u202egnuoY",  # reads "Alice Young" reversed
        "password": "alice-password-1",
    }

    response = client.post("/accounts/payout-details/", posted)

    assert "Remove the invisible control characters." in response.content.decode()
    alice.refresh_from_db()
    assert alice.payout_account_holder == ""
