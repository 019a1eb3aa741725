"""The alert settings page: the signed-in household's own, a plain form; bad input is
refused whole and nothing stored; a webhook's secret is shown once."""

import re
from datetime import time

import pytest
from django.test import Client
from django.urls import reverse

from alerts.models import AlertEvent, Preferences

pytestmark = pytest.mark.django_db

URL = "/alerts/"
GOOD = {
    "devices": "on",
    "cuts": "on",
    "payouts": "on",
    "by_email": "on",
    "webhook_url": "",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
}


@pytest.fixture
def browser(alice):
    client = Client()
    client.force_login(alice)
    return client


def test_it_is_for_signed_in_households_only(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_the_dashboard_links_to_it(browser, alice, register_device):
    register_device(alice)
    assert f'href="{URL}"' in browser.get(reverse("dashboard")).content.decode()


def test_a_household_sees_its_defaults_and_not_the_boards_choice(browser):
    page = browser.get(URL).content.decode()
    assert 'name="by_email" id="id_by_email" checked' in page
    assert 'name="by_webhook" id="id_by_webhook">' in page
    assert 'name="areas"' not in page


def test_board_staff_may_choose_the_area_alert(board_staff):
    client = Client()
    client.force_login(board_staff)
    assert 'name="areas"' in client.get(URL).content.decode()


def test_saving_keeps_the_choices_and_the_quiet_hours(browser, alice):
    response = browser.post(URL, {**GOOD, "cuts": ""})

    assert response.status_code == 302 and response["Location"] == URL
    prefs = Preferences.objects.get(household=alice)
    assert (prefs.devices, prefs.cuts, prefs.payouts, prefs.by_email) == (True, False, True, True)
    assert prefs.quiet_hours() == (time(22), time(7))
    assert "Your alert settings are saved." in browser.get(URL).content.decode()


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"quiet_start": "25:00"}, "quiet_start", "Give a time as HH:MM"),
        ({"quiet_end": ""}, "quiet_end", "Give both ends of the quiet hours, or neither."),
        ({"quiet_end": "22:00"}, "quiet_end", "must end at another time"),
        ({"by_webhook": "on"}, "webhook_url", "Give the webhook&#x27;s address"),
        ({"webhook_url": "https://127.0.0.1/x"}, "webhook_url", "private or local network"),
        ({"webhook_url": "http://93.184.216.34/x"}, "webhook_url", "https only"),
        ({"webhook_url": "https://a:b@93.184.216.34/x"}, "webhook_url", "user name and password"),
        ({"webhook_url": "https://x/" + "a" * 600}, "webhook_url", "500"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(browser, change, field, words):
    response = browser.post(URL, {**GOOD, **change})

    assert response.status_code == 200
    page = response.content.decode()
    assert words in page
    assert f'id="id_{field}_errors"' in page
    assert not Preferences.objects.exists()


def test_email_needs_an_address(browser, alice):
    alice.email = ""
    alice.save()

    page = browser.post(URL, GOOD).content.decode()

    assert "Your account has no email address" in page
    assert not Preferences.objects.exists()


def test_a_form_without_its_csrf_token_changes_nothing(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    assert client.post(URL, GOOD).status_code == 403
    assert not Preferences.objects.exists()


def secret_shown(page: str) -> str | None:
    found = re.search(r'<code id="webhook-secret">([0-9a-f]+)</code>', page)
    return found.group(1) if found else None


def test_a_webhooks_secret_is_shown_once_and_can_be_replaced(browser, alice, receiver):
    response = browser.post(URL, {**GOOD, "by_webhook": "on", "webhook_url": receiver.url})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    first = secret_shown(response.content.decode())
    assert first == Preferences.objects.get(household=alice).webhook_secret
    assert len(first) == 64
    again = browser.get(URL).content.decode()
    assert secret_shown(again) is None and first not in again
    # Saving again keeps it; asking for a new one replaces it.
    browser.post(URL, {**GOOD, "by_webhook": "on", "webhook_url": receiver.url})
    assert Preferences.objects.get(household=alice).webhook_secret == first
    page = browser.post(
        URL, {**GOOD, "by_webhook": "on", "webhook_url": receiver.url, "new_secret": ""}
    ).content.decode()
    second = secret_shown(page)
    assert second not in (None, first)
    assert Preferences.objects.get(household=alice).webhook_secret == second


def test_one_households_settings_never_touch_anothers(browser, alice, bob):
    Preferences.objects.create(household=bob, by_email=False)

    browser.post(URL, {**GOOD, "by_email": ""})

    assert Preferences.objects.get(household=bob).by_email is False
    assert Preferences.objects.get(household=alice).by_email is False
    assert Preferences.objects.count() == 2


def test_the_admin_shows_what_was_sent_read_only(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)

    assert client.get("/admin/alerts/alertevent/").status_code == 200
    assert client.get("/admin/alerts/delivery/").status_code == 200
    assert client.get("/admin/alerts/alertevent/add/").status_code == 403
    assert not AlertEvent.objects.exists()
