"""Logs: one line per event, JSON when CELC_LOG_FORMAT=json (settings.LOGGING).

Every record carries the request it belongs to (`request_id`, set by
celc.middleware.request_log for the request's thread or task) and, where a device's
socket logs, `device_id`. `Redact` is the last guard against a secret reaching a log:
device tokens (`ced_...`), bearer credentials and session or CSRF cookie values are
replaced wherever they appear in a message or its arguments.
"""

from __future__ import annotations

import contextvars
import logging
import re

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# A proxy's request id is kept (Caddy's {http.request.uuid}); anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{8,64}")

SECRETS = re.compile(
    r"ced_[A-Za-z0-9_\-]{6,}"  # device tokens (devices/tokens.py)
    r"|(?i:bearer)\s+[A-Za-z0-9_\-.~+/=]+"
    r"|(?i:(?:sessionid|csrftoken|csrfmiddlewaretoken)=)[^;&\s\"']+"
)


def redact(text: str) -> str:
    return SECRETS.sub("[redacted]", text)


class Context(logging.Filter):
    """Adds `request_id` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class Redact(logging.Filter):
    """The message, the traceback and every extra field, cleaned; a request attached to a
    record (Django's own lines) becomes its method and path, without the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = one_line(redact(message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatted here, cleaned, and kept as the text both formatters print instead.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        request = record.__dict__.get("request")
        if request is not None and not isinstance(request, str):
            method, path = getattr(request, "method", ""), getattr(request, "path", "")
            record.request = f"{method} {one_line(redact(str(path)))}"
        for name, value in list(record.__dict__.items()):
            if isinstance(value, str) and name not in ("msg", "exc_text"):
                setattr(record, name, redact(value))
        return True


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {
    c: f"\\u{c:04x}"
    for c in (0x85, 0x2028, 0x2029)  # line breaks to some readers
}


def one_line(text: str) -> str:
    """`text` with control characters escaped: a hostile path cannot start a forged line."""
    return text.translate(_CONTROL)
