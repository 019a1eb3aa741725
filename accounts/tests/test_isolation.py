"""No household sees another's data on any page, API or form (the WebSocket: test_consumers)."""

import pytest

from payouts import accrual, creation
from payouts.tests.test_accrual import at, cut

pytestmark = pytest.mark.django_db

HOUSEHOLD_URLS = [
    "/dashboard/",
    "/api/me/summary",
    "/accounts/payout-details/",
    "/accounts/password_change/",
]


@pytest.fixture
def alices_secrets(alice, register_device, time_machine):
    # The figures are this month's and today's: the pages are read on the day of the cut.
    time_machine.move_to(at(-3600), tick=False)
    alice.payout_method, alice.payout_upi_id = "upi", "alice-private@okbank"
    alice.save()
    cut(register_device(alice, name="Alice private meter")[0], 0, 3600)
    accrual.accrue(now=at(3601))
    creation.create_payouts(now=at(7200))
    time_machine.move_to(at(7200), tick=False)
    return [b"Alice private meter", b"alice-private@okbank", b"14.00", b"14.004438"]


@pytest.mark.parametrize("url", HOUSEHOLD_URLS)
def test_bob_never_gets_alices_data(client, bob, alices_secrets, url):
    client.force_login(bob)

    response = client.get(url)

    assert response.status_code == 200
    for secret in alices_secrets:
        assert secret not in response.content, (url, secret)


@pytest.mark.parametrize("url", HOUSEHOLD_URLS)
def test_the_signed_out_get_nothing(client, alices_secrets, url):
    response = client.get(url)

    assert response.status_code in {302, 401}
    for secret in alices_secrets:
        assert secret not in response.content


def test_alice_does_see_her_own(client, alice, alices_secrets):
    client.force_login(alice)

    page = client.get("/dashboard/").content + client.get("/accounts/payout-details/").content

    for secret in alices_secrets:
        assert secret in page
