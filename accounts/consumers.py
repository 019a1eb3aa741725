from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.broadcast import LIVE_GROUP, household_group
from common.consumers import CLOSE_UNAUTHORIZED, ClosedWithItsSession, NoDatabaseHop
from common.metrics import HOUSEHOLD_SOCKETS


class BalanceConsumer(NoDatabaseHop, ClosedWithItsSession, AsyncJsonWebsocketConsumer):
    """A signed-in household's live feed: joins that household's group only.

    Its handlers never touch the database (the middleware loaded the session and
    user before the first message), so it skips Channels' per-message hop.
    """

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept first: a close code only reaches the browser after the handshake.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        # Signing out or changing the password elsewhere closes this socket (account.*).
        self.session_key = self.scope["session"].session_key
        self.group = household_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(LIVE_GROUP, self.channel_name)
        await self.accept()
        HOUSEHOLD_SOCKETS.inc()
        self.counted = True

    async def disconnect(self, code):
        if getattr(self, "counted", False):
            self.counted = False
            HOUSEHOLD_SOCKETS.dec()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(LIVE_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # The browser only listens; anything it sends is ignored.
        return

    async def balance_update(self, event):
        await self.send_json(event["payload"])

    async def balance_quote(self, event):
        """The household's state at a moment, to tick on from (payouts.quotes)."""
        await self.send_json(event["payload"])

    async def balance_event(self, event):
        """A change a tick made to one of its outages (devices.live)."""
        await self.send_json(event["payload"])

    async def live_heartbeat(self, event):
        await self.send_json({"type": "alive", "at": event["at"]})
