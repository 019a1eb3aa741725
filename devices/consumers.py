import json
import logging
import time

from django.utils import timezone

from common.metrics import DEVICE_SOCKETS, PROTOCOL_ERRORS
from devices import protocol
from devices.hub import get_hub
from devices.limits import MAX_CONNECTIONS, RATE_PER_SECOND
from devices.protocol import ProtocolError
from devices.services import bearer_token

log = logging.getLogger(__name__)

UNAUTHORIZED = ProtocolError("unauthorized", "missing, unknown or revoked device token")
RATE_LIMITED = ProtocolError(
    "rate_limited", f"more than {RATE_PER_SECOND} frames/s from this device"
)
REPLACED = ProtocolError(
    "replaced", f"a newer connection of this device replaced this one (at most {MAX_CONNECTIONS})"
)
BINARY = ProtocolError("bad_message", "frames are UTF-8 JSON text frames, not binary")


class PlainWebSocket:
    """A WebSocket as a plain ASGI application, with the few calls of Channels' consumers
    that a device's socket uses (`connect`, `receive`, `disconnect`; `accept`, `send`,
    `close`).

    A device socket needs nothing else of a Channels consumer: it has no channel layer and
    never touches the ORM on the event loop. Channels' dispatch starts a task and waits on
    it for every message, a cost paid on every tick of every device
    (docs/performance.md); here each message is awaited and handled in turn.
    """

    @classmethod
    def as_asgi(cls):
        async def app(scope, receive, send):
            await cls(scope, send).serve(receive)

        return app

    def __init__(self, scope, send):
        self.scope = scope
        self.base_send = send

    async def serve(self, receive) -> None:
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    await self.receive(
                        text_data=message.get("text"), bytes_data=message.get("bytes")
                    )
                elif kind == "websocket.connect":
                    await self.connect()
                elif kind == "websocket.disconnect":
                    await self.disconnect(message.get("code"))
                    return
        finally:
            self.gone()

    def gone(self) -> None:
        """The application is ending, however it ends (a disconnect, an error, cancelled)."""

    async def accept(self) -> None:
        await self.base_send({"type": "websocket.accept"})

    async def send(self, text_data: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text_data})

    async def close(self, code: int | None = None) -> None:
        message = {"type": "websocket.close"}
        if code is not None:
            message["code"] = code
        await self.base_send(message)


class DeviceConsumer(PlainWebSocket):
    """/ws/device/: device protocol v1. Thin: parse, hand ticks to the hub, answer."""

    device_id = None
    token_hash = None
    registered_at = None
    generation = None  # this connection's number among its device's (devices.limits)
    closing = False
    left = False  # counted out of the hub and the open sockets (once, however it ends)

    async def connect(self):
        token = bearer_token(
            dict(self.scope["headers"]).get(b"authorization", b"").decode("latin-1")
        )
        self.hub = get_hub()
        found = await self.hub.authenticate(token) if token else None
        await self.accept()
        if found is None:
            await self.refuse()
            return
        self.device_id, self.token_hash, self.registered_at = found
        DEVICE_SOCKETS.inc()
        self.generation, limited, level = await self.hub.limits.connected(self.token_hash)
        log.info(
            "device %s connected (connection %s)",
            self.device_id,
            self.generation,
            extra={"device_id": self.device_id, "connection": self.generation},
        )
        # The device's bucket on this process, shared with its other connections here (or
        # starting from what it owes over all processes): the guard at once, and the limit
        # without Redis. A new connection never brings a fresh burst of its own.
        self.bucket = self.hub.limits.bucket(self.token_hash, level)
        for older in self.hub.add(self):  # a fourth connection: the oldest goes at once
            await older.replaced()
        if limited:
            await self.rate_limited()

    async def disconnect(self, code):
        self.close_code = code
        self.gone()

    def gone(self) -> None:
        # Also when connect or a frame raised: a connection must not stay in the hub,
        # counted among its device's three, after its socket has gone.
        if self.device_id is not None and not self.left:
            self.left = True
            DEVICE_SOCKETS.dec()
            self.hub.remove(self)
            code = getattr(self, "close_code", None)
            log.info(
                "device %s disconnected (close code %s)",
                self.device_id,
                code,
                extra={"device_id": self.device_id, "code": code},
            )

    async def receive(self, text_data=None, bytes_data=None):
        if self.device_id is None or self.closing:
            return
        self.hub.limits.count(self.token_hash)  # the one over the limit too: the device owes it
        if not self.bucket.take(time.monotonic()):
            await self.rate_limited()
            return
        frame = (text_data if text_data is not None else bytes_data) or ""
        if protocol.frame_too_large(frame):
            await self.fail(
                ProtocolError("too_large", f"frame over {protocol.MAX_FRAME_BYTES} bytes"),
                protocol.CLOSE_TOO_LARGE,
            )
            return
        if text_data is None:
            PROTOCOL_ERRORS.labels(BINARY.code).inc()
            await self.send(text_data=json.dumps(BINARY.as_frame()))
            return
        parsed = protocol.parse_frame(frame, timezone.now(), not_before=self.registered_at)
        for error in parsed.errors:
            PROTOCOL_ERRORS.labels(error.code).inc()
            await self.send(text_data=json.dumps(error.as_frame()))
        if parsed.ticks:
            self.hub.submit(self, parsed.ticks)

    async def send_ack(self, seq: int) -> None:
        if not self.closing:
            # What json.dumps writes for it, without its encoder on every ack of every device.
            await self.send(text_data=f'{{"type": "ack", "seq": {int(seq)}}}')

    async def refuse(self) -> None:
        await self.fail(UNAUTHORIZED, protocol.CLOSE_UNAUTHORIZED)

    async def rate_limited(self) -> None:
        await self.fail(RATE_LIMITED, protocol.CLOSE_RATE_LIMITED)

    async def replaced(self) -> None:
        await self.fail(REPLACED, protocol.CLOSE_REPLACED)

    async def fail(self, error: ProtocolError, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        self.close_code = code
        self.gone()
        PROTOCOL_ERRORS.labels(error.code).inc()
        log.info(
            "device %s closed by the server: %s",
            self.device_id,
            error.code,
            extra={"device_id": self.device_id, "code": error.code},
        )
        try:
            await self.send(text_data=json.dumps(error.as_frame()))
            await self.close(code=code)
        except Exception:
            # The socket went first (the server has not noticed yet): nothing to tell it, and
            # the caller (a flush's acks, the hub's police) goes on with the others.
            log.debug("closing a connection that had gone", exc_info=True)
