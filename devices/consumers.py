import json
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from common.consumers import NoDatabaseHop
from devices import protocol
from devices.hub import get_hub
from devices.limits import MAX_CONNECTIONS, RATE_PER_SECOND
from devices.protocol import ProtocolError
from devices.services import bearer_token

UNAUTHORIZED = ProtocolError("unauthorized", "missing, unknown or revoked device token")
RATE_LIMITED = ProtocolError(
    "rate_limited", f"more than {RATE_PER_SECOND} frames/s from this device"
)
REPLACED = ProtocolError(
    "replaced", f"a newer connection of this device replaced this one (at most {MAX_CONNECTIONS})"
)
BINARY = ProtocolError("bad_message", "frames are UTF-8 JSON text frames, not binary")


class DeviceConsumer(NoDatabaseHop, AsyncWebsocketConsumer):
    """/ws/device/: device protocol v1. Thin: parse, hand ticks to the hub, answer."""

    # Devices never use the channel layer: no per-connection channel or subscription.
    channel_layer_alias = "devices-use-no-channel-layer"
    device_id = None
    token_hash = None
    registered_at = None
    generation = None  # this connection's number among its device's (devices.limits)
    closing = False

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
        self.generation, limited, level = await self.hub.limits.connected(self.token_hash)
        # The device's bucket on this process, shared with its other connections here (or
        # starting from what it owes over all processes): the guard at once, and the limit
        # without Redis. A new connection never brings a fresh burst of its own.
        self.bucket = self.hub.limits.bucket(self.token_hash, level)
        for older in self.hub.add(self):  # a fourth connection: the oldest goes at once
            await older.replaced()
        if limited:
            await self.rate_limited()

    async def disconnect(self, code):
        if self.device_id is not None:
            self.hub.remove(self)

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
            await self.send(text_data=json.dumps(BINARY.as_frame()))
            return
        parsed = protocol.parse_frame(frame, timezone.now(), not_before=self.registered_at)
        for error in parsed.errors:
            await self.send(text_data=json.dumps(error.as_frame()))
        if parsed.ticks:
            self.hub.submit(self, parsed.ticks)

    async def send_ack(self, seq: int) -> None:
        if not self.closing:
            await self.send(text_data=json.dumps({"type": "ack", "seq": seq}))

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
        if self.device_id is not None:
            self.hub.remove(self)
        await self.send(text_data=json.dumps(error.as_frame()))
        await self.close(code=code)
