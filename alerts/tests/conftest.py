"""A real SMTP server (aiosmtpd) and a real webhook receiver (http.server), on loopback,
and the alerts switched on an hour before the tests' clock (payouts' T0)."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from alerts.models import Watermark
from devices.ingest import store_ticks
from devices.protocol import Tick
from devtools.stack import free_port
from payouts.tests.test_accrual import T0, at


class Inbox:
    """What the SMTP server received: parsed messages, in order."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Test-Rcpt"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if m["X-Test-Rcpt"] == address]

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "Central Electric <alerts@power.example.org>"
    yield inbox
    controller.stop()


class Receiver:
    """A webhook receiver on loopback: keeps each POST, answers `status`."""

    def __init__(self):
        self.posts: list[dict] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?to=alice"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json(self, index: int = -1) -> dict:
        return json.loads(self.posts[index]["body"])

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.CELC_WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback, over http
    found = Receiver()
    yield found
    found.stop()


@pytest.fixture(autouse=True)
def alerts_on(db):
    """Alerts switched on an hour before the tests' events."""
    Watermark.objects.update_or_create(pk=1, defaults={"since": T0 - timedelta(hours=1)})


def heartbeat(device, seconds: int, seq: int = 1):
    """The device says the power is on, `seconds` after the tests' T0."""
    store_ticks({device.pk: [Tick(seq=seq, ts=at(seconds), power="on")]}, received_at=at(seconds))
