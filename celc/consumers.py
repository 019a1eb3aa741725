"""What the project's WebSocket consumers share."""

from channels.consumer import get_handler_name


class NoDatabaseHop:
    """Dispatch without Channels' per-message database clean-up.

    Channels 4.2+ runs `close_old_connections` in a worker thread before every
    message a consumer handles (about 30 % of a server's time on a busy
    socket, docs/performance.md). A consumer whose handlers never touch the
    ORM mixes this in first and skips that hop.
    """

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
