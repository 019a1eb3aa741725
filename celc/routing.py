"""WebSocket routing.

Devices and browsers are kept apart. Devices send no Origin header and no
session cookie: they authenticate with a bearer token inside their own
consumer. Every other socket is a browser's and passes the same-origin
check (celc.origin) and the session middleware first.
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import re_path

import accounts.routing
import board.routing
import devices.routing
from celc.origin import SameOriginValidator

browser_websockets = SameOriginValidator(
    AuthMiddlewareStack(
        URLRouter([*accounts.routing.websocket_urlpatterns, *board.routing.websocket_urlpatterns])
    )
)

websocket_application = URLRouter(
    [
        *devices.routing.websocket_urlpatterns,
        re_path(r"^", browser_websockets),
    ]
)
