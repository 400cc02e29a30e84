"""Stream endpoint (DRF): POST a JSON array or NDJSON of tweets, token-authenticated."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dallosh.permissions import CanIngest
from dallosh.serializers import ErrorSerializer
from ingestion import selectors, services


class NDJSONParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        records = []
        for number, line in enumerate(stream.read().decode("utf-8", errors="replace").splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError as exc:
                    raise ParseError(f"NDJSON line {number} is not JSON: {exc}") from exc
        return records


class JobProgressSerializer(serializers.Serializer):
    """What selectors.job_progress answers (documented for the OpenAPI schema)."""

    id = serializers.CharField()
    status = serializers.CharField()
    counters = serializers.DictField()


class StreamIngestView(APIView):
    """Ingest a batch of live tweets now; answers with the job's counters."""

    permission_classes = [CanIngest]
    parser_classes = [JSONParser, NDJSONParser]
    throttle_scope = "stream"  # integrations post often: their own rate, not the people's

    @extend_schema(request={"application/json": OpenApiTypes.OBJECT, "application/x-ndjson": OpenApiTypes.STR},
                   responses={201: JobProgressSerializer, 202: JobProgressSerializer, 400: ErrorSerializer,
                              413: ErrorSerializer, 429: ErrorSerializer})
    def post(self, request):
        limits = settings.DALLOSH
        length = int(request.headers.get("Content-Length") or 0)
        if length > limits["STREAM_MAX_BYTES"]:
            return Response({"error": f"payload over {limits['STREAM_MAX_BYTES']} bytes; send smaller batches"},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        records = request.data
        if isinstance(records, dict):
            records = records.get("tweets", [records])
        if not isinstance(records, list):
            return Response({"error": "expected a JSON array of tweets or NDJSON"}, status=400)
        if len(records) > limits["STREAM_MAX_RECORDS"]:
            return Response({"error": f"at most {limits['STREAM_MAX_RECORDS']} tweets per request"}, status=413)
        try:
            job = services.ingest_records(records=records, source=request.query_params.get("source"),
                                          format_name=request.query_params.get("format"),
                                          user=request.user.get_username())
        except services.IngestError as exc:
            return Response({"error": str(exc)}, status=400)
        # 202: the same request is being ingested by another call right now (a client retrying
        # after a timeout); this is its job, to follow at /ingest/jobs/<id>.
        done = job.status == services.JobStatus.COMPLETED
        return Response(selectors.job_progress(job),
                        status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED)


class IngestJobView(APIView):
    permission_classes = [CanIngest]

    @extend_schema(responses={200: JobProgressSerializer, 404: ErrorSerializer})
    def get(self, request, job_id: str):
        job = selectors.get_job(job_id)
        if job is None:
            raise Http404
        return Response(selectors.job_progress(job))


class IngestJobListView(APIView):
    """The latest ingest jobs, newest first, with their progress and counters."""

    permission_classes = [CanIngest]

    @extend_schema(responses={200: JobProgressSerializer(many=True)})
    def get(self, request):
        return Response([selectors.job_progress(job) for job in selectors.recent_jobs(limit=50)])
