from django.urls import path

from ingestion import api

urlpatterns = [
    path("ingest/stream", api.StreamIngestView.as_view(), name="api-ingest-stream"),
    path("ingest/jobs/<str:job_id>", api.IngestJobView.as_view(), name="api-ingest-job"),
]
