"""WebSocket routing.

Devices and browsers are kept apart. Devices send no Origin header and no
session cookie: they authenticate with a bearer token inside their own
consumer. Every other socket is a browser's and passes the allowed-hosts
Origin check and the session middleware first.
"""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import re_path

import accounts.routing
import devices.routing
import payouts.routing

browser_websockets = AllowedHostsOriginValidator(
    AuthMiddlewareStack(
        URLRouter([*accounts.routing.websocket_urlpatterns, *payouts.routing.websocket_urlpatterns])
    )
)

websocket_application = URLRouter(
    [
        *devices.routing.websocket_urlpatterns,
        re_path(r"^", browser_websockets),
    ]
)
