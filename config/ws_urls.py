"""Websocket routes of the back-office and the dashboard (mounted by config/asgi.py)."""

from django.urls import path

from dashboard.consumers import AlertConsumer, KpiConsumer
from tickets import consumers

websocket_urlpatterns = [
    path("ws/alerts/", AlertConsumer.as_asgi()),
    path("ws/kpis/", KpiConsumer.as_asgi()),
    path("ws/queues/<str:team>/", consumers.QueueConsumer.as_asgi()),
    path("ws/tickets/<str:ticket_id>/", consumers.TicketConsumer.as_asgi()),
]
