"""Response headers Django 5.2 does not set by itself, and one log line per request."""

import logging
import time
import uuid

from common import logs

log = logging.getLogger("celc.requests")

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
    """First of all: the request's id (celc.ops gave it, from the proxy's X-Request-ID or
    a new one) in the response's X-Request-ID, and one line when the request is answered:
    method, path (not the query string), status, time taken, who."""

    def middleware(request):
        request_id = logs.request_id.get()
        token = None
        if request_id is None:  # not served through celc.asgi (tests' client)
            request_id = uuid.uuid4().hex
            token = logs.request_id.set(request_id)
        started = time.monotonic()
        try:
            response = get_response(request)
            response.headers["X-Request-ID"] = request_id
            # Who, if the request looked (no query just for the log).
            user = request.__dict__.get("_cached_user")
            user_id = user.pk if user is not None and user.is_authenticated else None
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            log.info(
                "%s %s %s %s ms user %s request %s",
                request.method,
                logs.one_line(request.path),
                response.status_code,
                duration_ms,
                user_id if user_id is not None else "-",
                request_id,
                extra={
                    "method": request.method,
                    "path": logs.one_line(request.path),
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "user_id": user_id,
                },
            )
            return response
        finally:
            if token is not None:
                logs.request_id.reset(token)

    return middleware
