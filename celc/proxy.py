"""The client's address behind the TLS-terminating proxy (DJANGO_BEHIND_TLS_PROXY).

Behind a load balancer or TLS proxy every connection comes from the proxy's
address; the proxy appends the address it was connected from to
`X-Forwarded-For`, after whatever the client itself sent there. So only the
last entry is the proxy's word; anything before it is the client's, and
trusting it would let a client pass for any address (and lock others out
of their accounts under it). One proxy is assumed: the last hop is the
client's address.

- Daphne, started with `--proxy-headers` (devtools.stack does it when the
  setting is on), puts the first entry in the request's client address;
  `install()` makes it take the last one, for requests and WebSockets alike.
- Sign-in lockouts (django-axes: AXES_CLIENT_IP_CALLABLE) count by
  `client_address(request)`: the last entry when the setting is on, else
  the connection's own address, whatever headers the client sent.

Without the setting nothing of `X-Forwarded-For` is used. With it, the web
processes must be reachable only through the proxy.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

ADDRESS_HEADER = "X-Forwarded-For"


def last_hop(value: str | None) -> str | None:
    """The last address of an `X-Forwarded-For` value (the one the proxy appended), or None
    when there is none that is an address."""
    if not value:
        return None
    candidate = value.rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's address as sign-in lockouts count it (AXES_CLIENT_IP_CALLABLE)."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = last_hop(request.META.get("HTTP_X_FORWARDED_FOR"))
        if forwarded is not None:
            return forwarded
    return request.META.get("REMOTE_ADDR")


def install() -> None:
    """Make daphne's `--proxy-headers` take the last hop of X-Forwarded-For, not the first."""
    try:
        from daphne import http_protocol, ws_protocol
    except ImportError:  # not served by daphne
        return
    for module in (http_protocol, ws_protocol):
        if not getattr(module.parse_x_forwarded_for, "_celc_last_hop", False):
            module.parse_x_forwarded_for = _last_hop_only(module.parse_x_forwarded_for)


def _last_hop_only(parse):
    def parse_last_hop(headers, address_header_name=ADDRESS_HEADER, *args, **kwargs):
        if address_header_name:
            if hasattr(headers, "getAllRawHeaders"):  # Twisted's: each name, all its lines
                headers = dict(headers.getAllRawHeaders())
            wanted = address_header_name.lower().encode()
            kept = {name: value for name, value in headers.items() if name.lower() != wanted}
            lines = [
                line
                for name, value in headers.items()
                if name.lower() == wanted
                for line in (value if isinstance(value, list) else [value])
            ]
            if lines:
                hop = last_hop(b",".join(lines).decode("latin-1"))
                if hop is not None:
                    kept[wanted] = [hop.encode()]
            headers = kept
        return parse(headers, address_header_name, *args, **kwargs)

    parse_last_hop._celc_last_hop = True
    return parse_last_hop
