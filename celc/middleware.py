"""Response headers Django 5.2 does not set by itself, and one log line per request."""

import logging
import re
import time
import uuid

from common import logs

log = logging.getLogger("celc.requests")
# A proxy's request id is kept (Caddy's {http.request.uuid}); anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{8,64}")

# Own scripts and styles only, no CDN, nothing inline but style attributes
# (the timeline's bar positions); WebSockets to this site only ('self' covers
# its own ws:// and wss:// in CSP Level 3 browsers); no framing.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=()"


def security_headers(get_response):
    """Content-Security-Policy and Permissions-Policy on every response that has none."""

    def middleware(request):
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response

    return middleware


def request_log(get_response):
    """First of all: the request's id (from the proxy, else a new one) for every log line
    written while it is handled and in the response's X-Request-ID, and one line when it is
    answered: method, path (not the query string), status, time taken, who."""

    def middleware(request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = logs.request_id.set(request_id)
        started = time.monotonic()
        try:
            response = get_response(request)
            response.headers["X-Request-ID"] = request_id
            user = getattr(request, "user", None)
            log.info(
                "%s %s %s",
                request.method,
                logs.one_line(request.path),
                response.status_code,
                extra={
                    "method": request.method,
                    "path": logs.one_line(request.path),
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                    "user_id": user.pk if user is not None and user.is_authenticated else None,
                },
            )
            return response
        finally:
            logs.request_id.reset(token)

    return middleware
