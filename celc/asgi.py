"""ASGI entry point, served by daphne: HTTP through Django, WebSockets through Channels."""

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celc.settings")
django_asgi_app = get_asgi_application()

from celc.routing import websocket_application  # noqa: E402  (needs Django set up first)

application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websocket_application})
