"""The REST API (v1): every app's endpoints under /api/v1/."""

from django.urls import path

from ingestion import api
from tickets import api as tickets_api

urlpatterns = [
    path("ingest/stream", api.StreamIngestView.as_view(), name="api-ingest-stream"),
    path("ingest/jobs/<str:job_id>", api.IngestJobView.as_view(), name="api-ingest-job"),
    path("queues/<str:team>/tickets", tickets_api.QueueView.as_view(), name="api-queue"),
    path("tickets/<str:ticket_id>", tickets_api.TicketView.as_view(), name="api-ticket"),
    path("tickets/<str:ticket_id>/<str:action>", tickets_api.TicketActionView.as_view(), name="api-ticket-action"),
]
