from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.broadcast import BOARD_GROUP
from celc.consumers import NoDatabaseHop
from payouts import board

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403


class BoardConsumer(NoDatabaseHop, AsyncJsonWebsocketConsumer):
    """/ws/board/: the areas out now, for board staff only."""

    async def connect(self):
        user = self.scope.get("user")
        # Accept first: a close code only reaches the browser after the handshake.
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if not (user.is_staff and await self._may_see_the_board(user)):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.joined = True
        await self.channel_layer.group_add(BOARD_GROUP, self.channel_name)

    async def _may_see_the_board(self, user) -> bool:
        return await database_sync_to_async(user.has_perm)(board.PERMISSION)

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            await self.channel_layer.group_discard(BOARD_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        return  # the page only listens

    async def board_update(self, event):
        await self.send_json(event["payload"])
