"""Webhooks: which URLs a household may give, and the signed POST to them.

A household's URL must not turn the server into a way into its own network (SSRF):
only https, to a host whose every address is public; no user name or password in it.
`CELC_WEBHOOK_ALLOW_PRIVATE` also lets it go to loopback and private addresses, over
http as well (a receiver on the same machine or network: the tests'); link-local
addresses (cloud metadata) are refused whatever the setting. The check runs when the
URL is saved and again at each delivery, and the connection goes to the very address
checked, so a name that resolves elsewhere later (DNS rebinding) gains nothing.

The body is signed with the household's secret: header `X-Celc-Signature:
sha256=<hex HMAC-SHA256 of the raw body>`. No redirect is followed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

TIMEOUT_SECONDS = 5
# However a receiver drips its answer (a byte every few seconds keeps each read under
# TIMEOUT_SECONDS), the whole POST, TLS handshake included, is cut off after this.
DEADLINE_SECONDS = 15
# Not public whatever Python's is_global says of them on this Python (3.11.7 predates the
# fixes of CVE-2024-4032): 6to4 (may wrap any IPv4 address), site-local, and the cloud
# metadata service's IPv6 address (AWS).
NEVER = [
    ipaddress.ip_network("2002::/16"),
    ipaddress.ip_network("fec0::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
]
SIGNATURE_HEADER = "X-Celc-Signature"
USER_AGENT = "CentralElectric-Alerts/1"
MAX_URL = 500


class WebhookRefused(ValueError):
    """A URL the server will not post to, with why, in words for the household."""


class WebhookFailed(Exception):
    """A post that did not succeed, with why, in words safe to keep (no URL, no secret)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str  # the checked IP address the connection goes to


def new_secret() -> str:
    return secrets.token_hex(32)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> bool:
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    if any(ip in network for network in NEVER if network.version == ip.version):
        return False
    if ip.is_global:
        return True
    return allow_private and (ip.is_private or ip.is_loopback)


def check(url: str, *, allow_private: bool | None = None, resolve=socket.getaddrinfo) -> Target:
    """Where `url` would be posted to, or WebhookRefused saying why it will not be."""
    if allow_private is None:
        allow_private = settings.CELC_WEBHOOK_ALLOW_PRIVATE
    if len(url) > MAX_URL:
        raise WebhookRefused(_("The address is too long (500 characters at most)."))
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise WebhookRefused(_("The address has spaces or invisible characters in it."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookRefused(_("That is not a web address.")) from None
    scheme = parts.scheme.lower()
    if scheme not in {"https", "http"} or not parts.hostname:
        raise WebhookRefused(_("Give a web address starting with https://."))
    if scheme == "http" and not allow_private:
        raise WebhookRefused(_("Webhooks go over https only: give an address starting https://."))
    if parts.username is not None or parts.password is not None:
        raise WebhookRefused(
            _("Leave the user name and password out of the address: the signature proves it is us.")
        )
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = resolve(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise WebhookRefused(_("No server by that name could be found.")) from None
    addresses = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(info[4][0].split("%")[0]))
        except ValueError:
            continue
    if not addresses:
        raise WebhookRefused(_("No server by that name could be found."))
    if not all(_allowed(ip, allow_private) for ip in addresses):
        raise WebhookRefused(
            _("That address leads into a private or local network: give a public one.")
        )
    if scheme == "http" and any(ip.is_global for ip in addresses):
        raise WebhookRefused(_("Webhooks go over https only: give an address starting https://."))
    # An address written with letters outside ASCII (an IRI) is sent percent-encoded.
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~-._")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=?~-._")
    return Target(scheme, parts.hostname, port, path, str(addresses[0]))


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address checked, whatever the name resolves to now."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = self.raw = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        self.raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(self.raw, server_hostname=self.host)


def post(url: str, secret: str, payload: dict, *, event_type: str, delivery_id: int) -> int:
    """POST `payload` as signed JSON to `url`; its HTTP status (2xx), or WebhookFailed.

    Failures are said in English, for staff: they are kept on the delivery row.
    """
    with translation.override("en"):
        try:
            target = check(url)
        except WebhookRefused as refused:
            raise WebhookFailed(f"Refused: {refused}") from None
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(secret, body),
        "X-Celc-Event": event_type,
        "X-Celc-Delivery": str(delivery_id),
    }
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target, TIMEOUT_SECONDS)
    connection.raw = None
    expired = threading.Event()

    def cut_off() -> None:
        expired.set()
        if connection.raw is not None:
            with contextlib.suppress(OSError):
                connection.raw.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once

    deadline = threading.Timer(DEADLINE_SECONDS, cut_off)
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()  # the status is all it needs: no body read
    except (OSError, http.client.HTTPException) as error:
        if expired.is_set():
            raise WebhookFailed(f"No full answer within {DEADLINE_SECONDS} seconds.") from None
        if isinstance(error, TimeoutError):
            raise WebhookFailed(f"No answer within {TIMEOUT_SECONDS} seconds.") from None
        if isinstance(error, ssl.SSLError):
            raise WebhookFailed(f"TLS failed ({type(error).__name__}).") from None
        raise WebhookFailed(f"Could not connect ({type(error).__name__}).") from None
    finally:
        deadline.cancel()
        connection.close()
    if not 200 <= response.status < 300:
        raise WebhookFailed(f"The receiver answered HTTP {response.status}.")
    return response.status
