"""The Origin check of browser WebSockets: only pages of this site may open them.

Channels' AllowedHostsOriginValidator compares only the Origin's host with
ALLOWED_HOSTS, so a page on `http://localhost:9999` could open the feed of a
site on `http://localhost:8000`. Here the whole origin must match: the
request's own (scheme `http` for ws, `https` for wss or behind the TLS proxy
Django is told about in SECURE_PROXY_SSL_HEADER; host and port from the Host
header, the host one of ALLOWED_HOSTS), or one of CSRF_TRUSTED_ORIGINS,
matched as Django's CSRF check matches them. Devices send no Origin: their
route is outside this check (celc.routing).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(text: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a serialized origin, or None if it is not one."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (
        scheme not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
    ):
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _scheme(scope: dict, headers: dict[bytes, bytes]) -> str:
    """The scheme the page that opens this socket was served with."""
    if scope.get("scheme") == "wss":
        return "https"
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, secure = proxy  # e.g. ("HTTP_X_FORWARDED_PROTO", "https"), as Django reads it
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        value = headers.get(header, b"").decode("latin-1").split(",", 1)[0].strip()
        if value == secure:
            return "https"
    return "http"


def _trusted(origin: str) -> bool:
    """One of CSRF_TRUSTED_ORIGINS (`https://*.example.org` allows its subdomains)."""
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in trusted:
            if origin == trusted:
                return True
            continue
        pattern = urlsplit(trusted)
        parsed = urlsplit(origin)
        if parsed.scheme == pattern.scheme and is_same_domain(
            parsed.netloc, pattern.netloc.lstrip("*")
        ):
            return True
    return False


def origin_allowed(scope: dict) -> bool:
    headers: dict[bytes, bytes] = {}
    origins = []
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            origins.append(value)
        headers[name] = value
    if len(origins) != 1:
        return False
    try:
        origin = origins[0].decode("ascii")
        host = headers.get(b"host", b"").decode("ascii")
    except UnicodeDecodeError:
        return False
    if _origin(origin) is None:
        return False
    if _trusted(origin):
        return True
    domain, _ = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]  # what Django allows then
    if not domain or not validate_host(domain, allowed):
        return False
    return _origin(origin) == _origin(f"{_scheme(scope, headers)}://{host}")


class SameOriginValidator:
    """Refuses the WebSocket handshake (403) unless `origin_allowed`."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
