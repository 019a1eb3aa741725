from django.urls import path

from payouts.consumers import BoardConsumer

websocket_urlpatterns = [
    path("ws/board/", BoardConsumer.as_asgi()),
]
