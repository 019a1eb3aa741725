"""Let daphne close a WebSocket with the RFC 6455 codes the device protocol names.

The device protocol closes a connection that sent a frame over 64 KiB with
1009 ("message too big", RFC 6455 section 7.4.1). Daphne passes an ASGI
`websocket.close` code to autobahn's `sendClose`, which accepts only 1000 and
3000-4999 from applications, raises on 1009, and daphne then closes with 1011
instead. Codes an endpoint may send but autobahn's check refuses go out
through autobahn's lower-level `sendCloseFrame`, which sends them as given.
Installed by `celc.asgi` (the process daphne serves); a faults test checks it
against a real daphne.
"""

from __future__ import annotations

# Close codes an endpoint may send (RFC 6455 7.4.1) that autobahn's sendClose refuses.
ENDPOINT_CODES = {1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011}


def install() -> None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # not served by daphne
        return
    if getattr(WebSocketProtocol, "_celc_close_codes", False):
        return
    plain_close = WebSocketProtocol.serverClose

    def server_close(self, code=None):
        if code in ENDPOINT_CODES:
            self.sendCloseFrame(code=code, isReply=False)
        else:
            plain_close(self, code)

    WebSocketProtocol.serverClose = server_close
    WebSocketProtocol._celc_close_codes = True
