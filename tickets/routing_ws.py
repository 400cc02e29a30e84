"""Websocket routes of the back-office (mounted by dallosh/asgi.py)."""

from django.urls import path

from tickets import consumers

websocket_urlpatterns = [
    path("ws/queues/<str:team>/", consumers.QueueConsumer.as_asgi()),
    path("ws/tickets/<str:ticket_id>/", consumers.TicketConsumer.as_asgi()),
]
