"""Error pages in the site's look, each saying what happened and what to do next."""

import pytest
from django.template import loader
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_a_household_at_the_board_gets_the_sites_403(client, alice):
    client.force_login(alice)

    response = client.get("/board/")

    page = response.content.decode()
    assert response.status_code == 403
    assert '<header class="topbar">' in page and "/static/css/site.css" in page
    assert "This page is not open to your account" in page
    assert "The board&#x27;s view is for electricity-board staff." in page
    assert 'href="/dashboard/">Go to your dashboard</a>' in page
    assert "<h1>403 Forbidden</h1>" not in page


@override_settings(DEBUG=False)
def test_an_unknown_address_gets_the_sites_404(client):
    response = client.get("/no/such/page/")

    page = response.content.decode()
    assert response.status_code == 404
    assert '<header class="topbar">' in page
    assert "There is no page here" in page and "<code>/no/such/page/</code>" in page
    assert 'href="/accounts/login/">Sign in</a>' in page and 'href="/">Go home</a>' in page


@override_settings(DEBUG=False)
def test_a_malformed_request_gets_the_sites_400(client, board_staff):
    client.force_login(board_staff)

    response = client.get("/board/?month=November")

    assert response.status_code == 400
    assert "That request could not be understood" in response.content.decode()


def test_the_500_page_needs_no_request_and_no_context():
    """Django renders it with an empty context when something has already gone wrong."""
    page = loader.get_template("500.html").render()

    assert '<header class="topbar">' in page and "/static/css/site.css" in page
    assert "Something went wrong on our side" in page
    assert 'href="/">Go home</a>' in page


@override_settings(DEBUG=False)
def test_a_crash_gets_the_sites_500(client, alice, monkeypatch):
    from accounts import views

    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "household_summary", crash)
    client.raise_request_exception = False
    client.force_login(alice)

    response = client.get("/api/me/summary")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "a bug" not in response.content.decode()


@override_settings(DEBUG=False)
def test_error_pages_lead_each_account_where_it_lands(
    client, alice, board_staff, django_user_model
):
    """Staff without a device have no dashboard (it sends them on): the 400, 403 and 404
    pages link to where the account lands, the board or the admin, in words that say so."""
    root = django_user_model.objects.create_superuser("root", "root@example.com", "root-pw-1")

    client.force_login(board_staff)
    pages = [
        client.get("/no/such/page/"),
        client.get("/board/?month=November"),
        client.get("/admin/accounts/browsersigninfailures/"),
    ]
    assert [p.status_code for p in pages] == [404, 400, 403]
    for page in pages:
        assert 'href="/board/">Go to the board</a>' in page.content.decode()
        assert "Go to your dashboard" not in page.content.decode()
    assert "your dashboard" not in pages[2].content.decode()

    client.force_login(root)
    page = client.get("/no/such/page/").content.decode()
    assert 'href="/admin/">Go to the admin</a>' in page and "dashboard" not in page

    client.force_login(alice)
    page = client.get("/no/such/page/").content.decode()
    assert 'href="/dashboard/">Go to your dashboard</a>' in page
