"""Webhooks: a signed JSON POST to a real receiver on loopback; hostile addresses refused
when saved and again when sent."""

import contextlib
import hashlib
import hmac
import json
import socket
import threading

import pytest
import time_machine

from alerts import delivery, scan, services, webhooks
from alerts.models import Delivery, DeliveryState, Preferences
from alerts.tests.conftest import heartbeat
from payouts.tests.test_accrual import at

pytestmark = pytest.mark.django_db


def run(moment):
    with time_machine.travel(moment, tick=False):
        scan.scan()
        return delivery.send_due()


def hooked(household, url) -> Preferences:
    prefs = Preferences(household=household, by_email=False, by_webhook=True, webhook_url=url)
    services.preferences_save(preferences=prefs)
    return prefs


def test_a_webhook_is_a_json_post_signed_with_the_households_secret(
    receiver, alice, bob, register_device
):
    prefs = hooked(alice, receiver.url)
    hooked(bob, receiver.url.replace("alice", "bob"))
    home = register_device(alice)[0]
    register_device(bob, area_code="DL-SKT-007")
    heartbeat(home, 0)

    run(at(181))
    run(at(200))

    (post,) = receiver.posts
    assert post["path"] == "/hook?to=alice"
    expected = hmac.new(prefs.webhook_secret.encode(), post["body"], hashlib.sha256).hexdigest()
    assert post["headers"]["X-Celc-Signature"] == f"sha256={expected}"
    assert post["headers"]["X-Celc-Event"] == "device_silent"
    assert post["headers"]["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(post["body"])
    assert body["type"] == "device_silent"
    assert body["data"]["device"]["name"] == "Home meter"
    assert body["subject"] == "Your device Home meter has stopped reporting"
    assert body["happened_at"] == at(180).isoformat()
    assert Delivery.objects.get().address == "127.0.0.1"


def test_a_failing_receiver_is_retried_after_a_backoff_and_told_once(
    receiver, alice, register_device
):
    hooked(alice, receiver.url)
    heartbeat(register_device(alice)[0], 0)
    receiver.status = 500

    run(at(181))
    failed = Delivery.objects.get()
    assert failed.state == DeliveryState.PENDING
    assert failed.error == "Attempt 1: The receiver answered HTTP 500."
    receiver.status = 204
    run(at(200))  # the backoff is a minute
    assert len(receiver.posts) == 1

    run(at(181 + 61))
    run(at(181 + 120))

    assert len(receiver.posts) == 2
    assert Delivery.objects.get().state == DeliveryState.SENT


def test_an_address_allowed_when_saved_is_checked_again_when_sent(
    receiver, settings, alice, register_device
):
    prefs = hooked(alice, receiver.url)
    heartbeat(register_device(alice)[0], 0)
    settings.CELC_WEBHOOK_ALLOW_PRIVATE = False  # as if the name now led to a private address

    run(at(181))

    assert receiver.posts == []
    refused = Delivery.objects.get()
    assert refused.error.startswith("Attempt 1: Refused: Webhooks go over https only")
    assert receiver.url not in refused.error and prefs.webhook_secret not in refused.error


HOSTILE = [
    ("http://93.184.216.34/hook", "https only"),
    ("https://127.0.0.1/hook", "private or local network"),
    ("https://localhost:8000/hook", "private or local network"),
    ("https://10.1.2.3/", "private or local network"),
    ("https://192.168.1.1/", "private or local network"),
    ("https://[::1]/", "private or local network"),
    ("https://[::ffff:127.0.0.1]/", "private or local network"),
    ("https://2130706433/", "private or local network"),  # 127.0.0.1 as one number
    ("https://0.0.0.0/", "private or local network"),
    ("https://169.254.169.254/latest/meta-data/", "private or local network"),
    ("https://[2002:7f00:1::]/", "private or local network"),  # 6to4 wrapping 127.0.0.1
    ("https://[fec0::1]/", "private or local network"),  # site-local
    ("https://[fd00:ec2::254]/", "private or local network"),  # AWS's metadata, IPv6
    ("https://user:pass@93.184.216.34/", "user name and password"),
    ("ftp://93.184.216.34/", "https://"),
    ("javascript:alert(1)", "https://"),
    ("https://93.184.216.34/a b", "spaces or invisible characters"),
    ("https://no-such-host.invalid/", "No server by that name"),
    ("https://93.184.216.34:99999/", "not a web address"),
    ("https://" + "a" * 500 + ".example/", "too long"),
]


@pytest.mark.parametrize(("url", "why"), HOSTILE)
def test_hostile_addresses_are_refused(url, why):
    with pytest.raises(webhooks.WebhookRefused, match=why):
        webhooks.check(url, allow_private=False)


def test_the_cloud_metadata_address_is_refused_even_where_private_ones_are_allowed():
    with pytest.raises(webhooks.WebhookRefused):
        webhooks.check("http://169.254.169.254/latest/meta-data/", allow_private=True)
    assert webhooks.check("http://127.0.0.1:8080/x", allow_private=True).address == "127.0.0.1"


def test_a_public_https_address_is_accepted_and_pinned_to_the_address_checked():
    target = webhooks.check("https://93.184.216.34:8443/hook?a=1", allow_private=False)
    assert (target.host, target.port, target.path, target.address) == (
        "93.184.216.34",
        8443,
        "/hook?a=1",
        "93.184.216.34",
    )


def test_http_to_a_public_address_is_refused_even_where_private_ones_are_allowed():
    with pytest.raises(webhooks.WebhookRefused, match="https only"):
        webhooks.check("http://93.184.216.34/hook", allow_private=True)


def test_an_address_with_letters_outside_ascii_is_sent_percent_encoded(receiver):
    target = webhooks.check(receiver.url.replace("/hook", "/hoök/ä"), allow_private=True)
    assert target.path == "/ho%C3%B6k/%C3%A4?to=alice"

    webhooks.post(receiver.url.replace("/hook", "/hoök"), "s", {}, event_type="t", delivery_id=1)

    assert receiver.posts[-1]["path"] == "/ho%C3%B6k?to=alice"


def test_a_receiver_that_drips_its_answer_is_cut_off(settings, monkeypatch):
    """A byte at a time, each well within the read timeout: the whole POST still ends."""
    settings.CELC_WEBHOOK_ALLOW_PRIVATE = True
    monkeypatch.setattr(webhooks, "DEADLINE_SECONDS", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.wait(0.2):
                    return
                with contextlib.suppress(OSError):
                    conn.sendall(bytes([byte]))

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        with pytest.raises(webhooks.WebhookFailed, match="No full answer within 1 seconds"):
            webhooks.post(
                f"http://127.0.0.1:{listener.getsockname()[1]}/", "s", {}, event_type="t",
                delivery_id=1,
            )  # fmt: skip
    finally:
        stop.set()
        dripper.join(timeout=10)
        listener.close()
