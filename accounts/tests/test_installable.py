"""The household site as an installable app: its manifest in the page's language, its icons,
and a service worker that keeps the dashboard for when there is no network."""

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import translation
from playwright.sync_api import expect

from accounts.tests.test_browser import session


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "ta", "hi"])
def test_the_manifest_names_the_app_in_the_pages_language_and_its_icons_are_served(language):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    response = client.get("/manifest.webmanifest")
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    with translation.override(language):
        assert manifest["name"] == translation.gettext("Central Electric")
    assert manifest["lang"] == language
    assert manifest["start_url"] == "/dashboard/"
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        found = finders.find(icon["src"].removeprefix("/static/"))
        assert found is not None, icon["src"]
        if icon["type"] == "image/png":
            head = Path(found).read_bytes()[:24]
            assert head.startswith(b"\x89PNG")
            width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            assert f"{width}x{height}" == icon["sizes"]


def test_the_manifest_speaks_the_households_own_language(alice):
    """Browsers fetch it with the page's cookies (crossorigin="use-credentials")."""
    alice.language = "ta"
    alice.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(alice)
    assert json.loads(client.get("/manifest.webmanifest").content)["lang"] == "ta"
    assert 'crossorigin="use-credentials"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_every_page_links_the_manifest_and_the_worker_lists_what_it_keeps():
    client = Client()
    page = client.get("/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest" crossorigin="use-credentials">' in (
        page
    )
    worker = client.get("/sw.js")
    assert worker["Content-Type"] == "text/javascript"
    assert worker["Cache-Control"] == "no-cache"
    text = worker.content.decode()
    assert '"/static/accounts/live.js"' in text
    assert '"/dashboard/", "/api/me/quote", "/api/me/summary", "/jsi18n/"' in text
    for language in ("en", "ta", "hi"):  # the offline message, in every language at once
        with translation.override(language):
            assert (
                translation.gettext(
                    "Offline: this page has not been opened here before. Try again when connected."
                )
                in text
            )


def installed_dashboard(chromium_browser, live_server, alice, register_device):
    """alice's dashboard on a phone, opened twice: the second time under the service worker,
    which keeps what it fetches."""
    register_device(alice, name="Home meter")
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies([session(live_server, alice)])
    page = context.new_page()
    page.goto(live_server.url + "/dashboard/")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    return context, page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_offline_the_app_shows_the_last_state_it_had_says_so_and_forgets_it_on_sign_out(
    chromium_browser, live_server, alice, register_device
):
    context, page = installed_dashboard(chromium_browser, live_server, alice, register_device)
    expect(page.locator("#devices")).to_contain_text("Home meter")
    assert page.evaluate(
        "caches.open('celc-pages').then(c => c.match('/dashboard/')).then(Boolean)"
    )

    context.set_offline(True)
    page.reload()
    expect(page.locator("#devices")).to_contain_text("Home meter")  # the kept page
    expect(page.locator("#live-status")).to_have_attribute("data-state", "offline")
    expect(page.locator("#live-status .label")).to_have_text("Offline: waiting for the network")
    note = page.locator("#frozen-note")
    expect(note).to_be_visible()
    expect(note).to_have_text(
        re.compile(r"^Offline: these are the last figures this phone had, as of \d\d:\d\d:\d\d\.")
    )

    context.set_offline(False)
    page.goto(live_server.url + "/accounts/logout/")
    page.get_by_role("button", name="Sign out").last.click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator('meta[name="celc-signed-in"]')).to_have_attribute("content", "0")
    # A page seen signed out deletes the kept copy (pwa.js; the deletion is asynchronous).
    assert kept_copy_gone(page)
    context.close()


KEPT_COPY_GONE = """async () => {
  for (let i = 0; i < 50; i++) {
    if (!(await caches.has("celc-pages"))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}"""


def kept_copy_gone(page) -> bool:
    return page.evaluate(KEPT_COPY_GONE)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_session_ended_by_the_server_takes_the_kept_copy_with_it(
    chromium_browser, live_server, alice, register_device
):
    """A password changed on another phone ends this browser's session: the next time the
    app asks the server, its copy of the household's figures is deleted."""
    from django.contrib.sessions.models import Session

    context, page = installed_dashboard(chromium_browser, live_server, alice, register_device)
    assert page.evaluate("caches.has('celc-pages')")

    Session.objects.all().delete()
    page.reload()  # sent to sign in: the worker drops the copy
    page.wait_for_url(re.compile(r"/accounts/login/"))
    assert kept_copy_gone(page)
    context.set_offline(True)
    response = page.goto(live_server.url + "/dashboard/")
    assert response.status == 503
    assert "Offline: this page has not been opened here before." in page.content()
    assert "Home meter" not in page.content()
    context.close()
