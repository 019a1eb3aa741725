from django.urls import path

from devices.consumers import DeviceConsumer

# Devices send no Origin header and no cookie: this route is outside the
# browser stack's origin check and session middleware (see celc.routing).
websocket_urlpatterns = [
    path("ws/device/", DeviceConsumer.as_asgi()),
]
