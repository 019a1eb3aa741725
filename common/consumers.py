"""What the project's WebSocket consumers share."""

from channels.consumer import get_handler_name


class NoDatabaseHop:
    """Dispatch without Channels' per-message database clean-up.

    Channels 4.2+ runs `close_old_connections` in a worker thread before every
    message a consumer handles (a large share of a server's time on a busy
    socket: docs/performance.md). A consumer whose handlers never touch the
    ORM mixes this in first and skips that hop.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


CLOSE_UNAUTHORIZED = 4401


class ClosedWithItsSession:
    """A signed-in page's socket that closes (4401) when its session signs out, or when the
    password is changed in another session (`account.*` messages, accounts.broadcast).
    The consumer sets `self.session_key` when it connects."""

    async def account_signed_out(self, event):
        if event["session"] == self.session_key:
            await self.close(code=CLOSE_UNAUTHORIZED)

    async def account_password_changed(self, event):
        if self.session_key not in event["keep"]:
            await self.close(code=CLOSE_UNAUTHORIZED)
