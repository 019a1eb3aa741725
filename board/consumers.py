from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts.roles import BOARD_VIEW_PERMISSION
from common.consumers import CLOSE_UNAUTHORIZED, ClosedWithItsSession, NoDatabaseHop
from common.live import BOARD_GROUP, account_group
from common.metrics import BOARD_SOCKETS

CLOSE_FORBIDDEN = 4403


class BoardConsumer(NoDatabaseHop, ClosedWithItsSession, AsyncJsonWebsocketConsumer):
    """/ws/board/: the areas out now, for board staff only; closed when its session signs out,
    or when the password is changed in another session (as /ws/balance/ is)."""

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
        self.session_key = self.scope["session"].session_key
        self.account = account_group(user.pk)
        self.joined = True
        BOARD_SOCKETS.inc()
        await self.channel_layer.group_add(self.account, self.channel_name)
        await self.channel_layer.group_add(BOARD_GROUP, self.channel_name)

    async def _may_see_the_board(self, user) -> bool:
        return await database_sync_to_async(user.has_perm)(BOARD_VIEW_PERMISSION)

    async def disconnect(self, code):
        if getattr(self, "joined", False):
            self.joined = False
            BOARD_SOCKETS.dec()
            await self.channel_layer.group_discard(BOARD_GROUP, self.channel_name)
            await self.channel_layer.group_discard(self.account, self.channel_name)

    async def receive_json(self, content, **kwargs):
        return  # the page only listens

    async def board_update(self, event):
        await self.send_json(event["payload"])
