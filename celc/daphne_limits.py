"""Size limits daphne enforces before anything reaches the application.

Request bodies. Daphne (through Twisted) reads a whole request body, into a
temporary file, and then queues all of it to the application before Django
sees the request: two anonymous 1 GiB POSTs grew daphne by about a gigabyte.
Here each request is judged when its headers are in, before any of its body
is read (`gotLength`): on `/api/device/ticks` a body without a device token
(`Authorization: Bearer ced_...`) gets 401 and one declared over 64 KiB 413,
as the device protocol says; in the admin, with a session cookie (staff
signed in: bulk actions over many rows), a body over Django's
DATA_UPLOAD_MAX_MEMORY_SIZE gets 413; everywhere else (every form of the
site, the admin's sign-in, anyone without a session) one over 64 KiB
(`FORM_BODY_BYTES`: the site's forms need a few KB). Thirty anonymous bodies
just under Django's 2.5 MiB, read whole, grew daphne by over a hundred MB,
and Python kept the memory. A chunked body is cut off with 413 as soon as it passes the
limit. A refused request's answer goes out with
`Connection: close`; what the client still sends is read and dropped (never
kept) for up to `LINGER_SECONDS`, so that a client that sends before it
reads gets the answer rather than a reset. Twisted's own parsing of form
bodies is turned off: daphne passes the body on as it is.

WebSocket messages. Daphne lets autobahn take messages of up to 1 MiB (its
--websocket-max-message-size and --websocket-max-frame-size), and autobahn
fails a bigger one by dropping the TCP connection (its `failByDrop`): a
device saw 1006 where the protocol promises the `too_large` error and 1009.
Here every connection's limits are the protocol's 64 KiB, which autobahn
checks against each frame's header before it keeps any payload, and going
over sends the `too_large` error frame (on device sockets) and closes with
1009; autobahn then discards the rest of the message as it arrives.

Installed by `celc.asgi` (the process daphne serves), like
`celc.daphne_close_codes`; `celc/tests/test_daphne_limits.py` checks it
against a real daphne.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from django.conf import settings
from django.http.cookie import parse_cookie

from devices.protocol import CLOSE_TOO_LARGE, MAX_FRAME_BYTES, ProtocolError
from devices.services import bearer_token
from devices.tokens import TOKEN_MARK

DEVICE_SOCKET_PATH = "/ws/device/"  # devices.routing
DEVICE_TICKS_PATH = "/api/device/ticks"  # devices.urls
ADMIN_PATH = "/admin/"  # celc.urls
FORM_BODY_BYTES = 64 * 1024
TOO_LARGE = ProtocolError("too_large", f"frame over {MAX_FRAME_BYTES} bytes")
LINGER_SECONDS = 10


def install() -> None:
    try:
        from daphne.http_protocol import WebRequest
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not served by daphne
        return
    if getattr(WebSocketProtocol, "_celc_limits", False):
        return
    _limit_request_bodies(WebRequest)
    _limit_websocket_messages(WebSocketProtocol)
    WebSocketProtocol._celc_limits = True


def _json_error(code: str, detail: str) -> tuple[bytes, bytes]:
    body = {"error": {"code": code, "detail": detail}}
    return b"application/json", json.dumps(body).encode()


def refusal(path: str, headers, length: int | None) -> tuple[int, bytes, bytes] | None:
    """(status, content type, body) to answer at once a request with a body of `length`
    bytes (None: chunked), or None to go on and read it."""
    if path == DEVICE_TICKS_PATH and length != 0:  # no body, nothing to spare: Django answers
        authorization = (headers.getRawHeaders(b"authorization") or [b""])[0]
        if not bearer_token(authorization.decode("latin-1")).startswith(TOKEN_MARK):
            return 401, *_json_error("unauthorized", "missing or malformed device token")
    if length is not None and length > body_limit(path, headers):
        return too_large(path)
    return None


def too_large(path: str) -> tuple[int, bytes, bytes]:
    if path == DEVICE_TICKS_PATH:
        return 413, *_json_error("too_large", f"body over {MAX_FRAME_BYTES} bytes")
    return 413, b"text/plain; charset=utf-8", b"Request body too large.\n"


def body_limit(path: str, headers) -> int:
    if path == DEVICE_TICKS_PATH:
        return MAX_FRAME_BYTES
    if path.startswith(ADMIN_PATH) and _has_session(headers):
        return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440  # Django's default
    return FORM_BODY_BYTES


def _has_session(headers) -> bool:
    """Whether the request carries a session cookie (whose session Django checks later:
    reading the session store here would block daphne's reactor)."""
    cookies = b"; ".join(headers.getRawHeaders(b"cookie") or []).decode("latin-1")
    return bool(parse_cookie(cookies).get(settings.SESSION_COOKIE_NAME))


def _limit_request_bodies(request_class) -> None:
    plain_got_length = request_class.gotLength
    plain_content_chunk = request_class.handleContentChunk
    plain_request_received = request_class.requestReceived
    plain_connection_lost = request_class.connectionLost

    def got_length(self, length):
        # Headers are in, the body not yet: the channel holds the request line.
        target = getattr(self.channel, "_path", b"").split(b"?", 1)[0]
        self._celc_path = unquote(target.decode("ascii", "replace"))  # as daphne reads it
        self._celc_read = 0
        self._celc_refused = False
        self._celc_limit = body_limit(self._celc_path, self.requestHeaders)
        # Twisted would parse a form body into `request.args` (which daphne never reads):
        # a copy of every form in memory, and a bare 400 for a multipart body it cannot
        # parse, before Django (and the device protocol's JSON errors) could answer.
        self._parsePOSTFormSubmission = False
        answer = refusal(self._celc_path, self.requestHeaders, length)
        plain_got_length(self, 0 if answer else length)
        if answer:
            refuse(self, *answer)

    def handle_content_chunk(self, data):
        if self._celc_refused:
            return
        self._celc_read += len(data)
        if self._celc_read > self._celc_limit:  # a chunked body going on and on
            refuse(self, *too_large(self._celc_path))
            return
        plain_content_chunk(self, data)

    def request_received(self, command, path, version):
        if not self._celc_refused:
            plain_request_received(self, command, path, version)

    def connection_lost(self, reason):
        if self._celc_linger is not None and self._celc_linger.active():
            self._celc_linger.cancel()  # the client went: nothing to keep for it
        plain_connection_lost(self, reason)

    def refuse(self, status, content_type, body):
        from twisted.internet import reactor  # daphne's, installed by now (not at import)

        self._celc_refused = True
        channel, transport = self.channel, self.channel.transport
        self.requestHeaders.removeHeader(b"expect")  # no "100 Continue" after the answer
        reason = {401: b"Unauthorized", 413: b"Content Too Large"}[status]
        transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, reason, content_type, len(body), body)
        )
        # From now on what arrives is dropped unread, this read's rest included.
        channel.dataReceived = _drop
        channel._buffer = b""
        close_write = getattr(transport, "loseWriteConnection", None)
        if close_write is None:
            transport.loseConnection()
        else:
            close_write()
            self._celc_linger = reactor.callLater(LINGER_SECONDS, transport.abortConnection)

    request_class._celc_path = ""
    request_class._celc_read = 0
    request_class._celc_limit = 0
    request_class._celc_refused = False
    request_class._celc_linger = None
    request_class.gotLength = got_length
    request_class.handleContentChunk = handle_content_chunk
    request_class.requestReceived = request_received
    request_class.connectionLost = connection_lost


def _drop(data: bytes) -> None:
    pass


def _limit_websocket_messages(protocol_class) -> None:
    plain_connection_made = protocol_class._connectionMade

    def connection_made(self):
        plain_connection_made(self)  # copies the factory's options: daphne's 1 MiB
        self.maxFramePayloadSize = self.maxMessagePayloadSize = MAX_FRAME_BYTES

    def message_too_large(self, size, limit, reason):
        if self.failedByMe:
            return
        self.failedByMe = True  # autobahn now ignores this message's payload
        if self.state != self.STATE_OPEN:
            self.dropConnection(abort=True)
            return
        if getattr(getattr(self, "request", None), "path", None) == DEVICE_SOCKET_PATH:
            self.sendMessage(json.dumps(TOO_LARGE.as_frame()).encode())
        self.sendCloseFrame(code=CLOSE_TOO_LARGE, isReply=False)

    protocol_class._connectionMade = connection_made
    protocol_class._max_message_size_exceeded = message_too_large
