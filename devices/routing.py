# The device protocol's WebSocket (/ws/device/) lands here with the devices issue.
websocket_urlpatterns: list = []
