import json
import time

from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from celc.consumers import NoDatabaseHop
from devices import protocol
from devices.hub import get_hub
from devices.protocol import ProtocolError, TokenBucket
from devices.services import bearer_token

RATE_PER_SECOND = 20
RATE_BURST = 40

UNAUTHORIZED = ProtocolError("unauthorized", "missing, unknown or revoked device token")


class DeviceConsumer(NoDatabaseHop, AsyncWebsocketConsumer):
    """/ws/device/: device protocol v1. Thin: parse, hand ticks to the hub, answer."""

    # Devices never use the channel layer: no per-connection channel or subscription.
    channel_layer_alias = "devices-use-no-channel-layer"
    device_id = None
    token_hash = None
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
        self.device_id, self.token_hash = found
        self.bucket = TokenBucket(RATE_PER_SECOND, RATE_BURST, time.monotonic())
        self.hub.add(self)

    async def disconnect(self, code):
        if self.device_id is not None:
            self.hub.remove(self)

    async def receive(self, text_data=None, bytes_data=None):
        if self.device_id is None or self.closing:
            return
        if not self.bucket.take(time.monotonic()):
            await self.fail(
                ProtocolError("rate_limited", f"more than {RATE_PER_SECOND} frames/s"),
                protocol.CLOSE_RATE_LIMITED,
            )
            return
        frame = (text_data if text_data is not None else bytes_data) or ""
        if protocol.frame_too_large(frame):
            await self.fail(
                ProtocolError("too_large", f"frame over {protocol.MAX_FRAME_BYTES} bytes"),
                protocol.CLOSE_TOO_LARGE,
            )
            return
        parsed = protocol.parse_frame(frame, timezone.now())
        for error in parsed.errors:
            await self.send(text_data=json.dumps(error.as_frame()))
        if parsed.ticks:
            self.hub.submit(self.device_id, parsed.ticks)

    async def send_ack(self, seq: int) -> None:
        if not self.closing:
            await self.send(text_data=json.dumps({"type": "ack", "seq": seq}))

    async def refuse(self) -> None:
        await self.fail(UNAUTHORIZED, protocol.CLOSE_UNAUTHORIZED)

    async def fail(self, error: ProtocolError, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        if self.device_id is not None:
            self.hub.remove(self)
        await self.send(text_data=json.dumps(error.as_frame()))
        await self.close(code=code)
