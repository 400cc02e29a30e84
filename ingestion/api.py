"""The ingestion API (DRF, token-authenticated): tweets (a JSON array or NDJSON), e-mails
(RFC 822, mbox) and call transcripts, each stored raw first; and the jobs' progress."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.fields import empty
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from dallosh import json_input
from dallosh.json_input import JSONParser
from dallosh.permissions import CanIngest
from dallosh.serializers import StrictCharField, StrictFloatField, refusals
from ingestion import mail, selectors, services, transcripts
from ingestion.formats import FORMATS, format_by_name


class NDJSONParser(BaseParser):
    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None):
        records = []
        for number, line in enumerate(stream.read().decode("utf-8", errors="replace").splitlines(), start=1):
            if line.strip():
                try:
                    records.append(json_input.loads(line))
                except ValueError as exc:
                    raise ParseError(_("NDJSON line %(number)d is not JSON: %(error)s")
                                     % {"number": number, "error": exc}) from exc
        return records


class RawMailParser(BaseParser):
    """One e-mail as received (RFC 822), read as bytes: its charsets are the parser's business."""

    media_type = "message/rfc822"

    def parse(self, stream, media_type=None, parser_context=None):
        return [stream.read()]


class MboxParser(BaseParser):
    """Several e-mails in one mbox body."""

    media_type = "application/mbox"

    def parse(self, stream, media_type=None, parser_context=None):
        with tempfile.NamedTemporaryFile(suffix=".mbox") as box:
            shutil.copyfileobj(stream, box)
            box.flush()
            return list(mail.split_mbox(Path(box.name)))


class TranscriptParser(BaseParser):
    """A call transcript as sent, read as bytes (kept unchanged for audit; ingestion/transcripts
    tells its format from its content)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


TRANSCRIPT_TYPES = ("application/json", "text/vtt", "application/x-subrip", "text/plain")
TRANSCRIPT_PARSERS = [type(f"TranscriptParser_{n}", (TranscriptParser,), {"media_type": media})
                      for n, media in enumerate(TRANSCRIPT_TYPES)]


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


class ZonedDateTimeField(serializers.DateTimeField):
    """A date-time as the schema says (RFC 3339: a date, a time and its zone), nothing looser:
    a date alone or a time without its zone would be read in a zone the caller did not mean."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)  # given empty is given wrong, not "not given"

    def to_internal_value(self, value):
        if not isinstance(value, str) or not RFC3339.fullmatch(value.strip()):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss±hh:mm")
        return super().to_internal_value(value.strip())


class TurnSerializer(serializers.Serializer):
    text = StrictCharField(max_length=transcripts.MAX_TEXT_CHARS, help_text="what was said")
    role = serializers.ChoiceField(choices=sorted(transcripts.ROLE_WORDS), required=False,
                                   help_text="who spoke (else the speaker's name tells)")
    speaker = StrictCharField(required=False, allow_blank=True, max_length=100)
    start = StrictFloatField(required=False, min_value=0, help_text="seconds from the call's start")
    end = StrictFloatField(required=False, min_value=0)


class JsonTranscriptSerializer(serializers.Serializer):
    """A call as JSON: its turns, and what the query would otherwise say."""

    turns = TurnSerializer(many=True, allow_empty=False)
    call_id = StrictCharField(required=False, allow_blank=True, max_length=200)
    caller = StrictCharField(required=False, allow_blank=True, max_length=40)
    started_at = ZonedDateTimeField(required=False)
    duration_s = StrictFloatField(required=False, min_value=0)
    speakers = serializers.DictField(child=serializers.ChoiceField(choices=sorted(transcripts.ROLE_WORDS)),
                                     required=False, help_text="speaker name → role")


class CallQuerySerializer(serializers.Serializer):
    """What a transcript's file may not say itself (VTT, SRT and text carry no metadata)."""

    call_id = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                    help_text="the call's id (absent: the file's, else the hash of its bytes)")
    caller = serializers.CharField(required=False, allow_blank=True, max_length=40,
                                   help_text="the caller's number (needed where the file does not say it)")
    started_at = ZonedDateTimeField(required=False,
                                    help_text="when the call started: an RFC 3339 date-time, with its zone")
    agents = serializers.CharField(required=False, allow_blank=True, max_length=400,
                                   help_text="comma-separated speaker names who are agents, beside the configured ones")

    def hints(self) -> transcripts.Hints:
        data = self.validated_data
        return transcripts.Hints(call_id=data.get("call_id") or "", caller=data.get("caller") or "",
                                 started_at=data.get("started_at"),
                                 agents=transcripts.Hints.names(data.get("agents")))


class JobProgressSerializer(serializers.Serializer):
    """What selectors.job_progress answers (documented for the OpenAPI schema)."""

    id = serializers.CharField()
    status = serializers.CharField()
    counters = serializers.DictField()


def _tweet(fmt) -> dict:
    """A tweet of one format: an object with its fields, a file's columns (values are read as
    text; a tweet whose values do not parse is quarantined, not refused)."""
    return {"type": "object", "title": f"{fmt.name} tweet", "required": list(fmt.columns),
            "properties": {column: {} for column in fmt.columns}}


def _stream_body() -> dict:
    """A JSON array of tweets of one format, {"tweets": [...]}, or one tweet."""
    limit = settings.DALLOSH_INGEST.stream_max_records
    batches = [{"type": "array", "items": _tweet(fmt), "minItems": 1, "maxItems": limit} for fmt in FORMATS]
    wrapped = {"type": "object", "required": ["tweets"], "properties": {"tweets": {"oneOf": batches}}}
    return {"oneOf": [*batches, wrapped, *[_tweet(fmt) for fmt in FORMATS]]}


class StreamQuerySerializer(serializers.Serializer):
    """The stream's query: the tweets' format (an unknown one is refused, not guessed) and where
    they come from. Empty means not given, as an HTML form would send it."""

    format = serializers.ChoiceField(choices=[fmt.name for fmt in FORMATS], required=False, allow_blank=True,
                                     help_text="the tweets' format (empty or absent: found from their fields)")
    source = serializers.CharField(required=False, allow_blank=True, max_length=120,
                                   help_text="where the tweets come from (empty or absent: the format's name)")


class FormatIsTheTweets(DefaultContentNegotiation):
    """`?format=` names the tweets' format here, not DRF's renderer (which answered 404 to
    format=twcs)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StreamIngestView(APIView):
    """Ingest a batch of live tweets now; answers with the job's counters."""

    permission_classes = [CanIngest]
    content_negotiation_class = FormatIsTheTweets
    parser_classes = [JSONParser, NDJSONParser]
    throttle_scope = "stream"  # integrations post often: their own rate, not the people's

    @extend_schema(parameters=[StreamQuerySerializer],
                   request={"application/json": _stream_body(),
                            "application/x-ndjson": {"type": "string", "description": "one tweet (a JSON object, as "
                                                     "in the JSON array) a line"}},
                   responses={201: JobProgressSerializer, 202: JobProgressSerializer,
                              **refusals(400, 413, 415)})
    def post(self, request):
        limits = settings.DALLOSH_INGEST
        length = int(request.headers.get("Content-Length") or 0)
        if length > limits.stream_max_bytes:
            return Response({"error": _("payload over %(limit)d bytes; send smaller batches")
                                      % {"limit": limits.stream_max_bytes}},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        query = StreamQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response({"error": query.errors}, status=400)
        format_name = query.validated_data.get("format") or None
        source = query.validated_data.get("source") or None
        records = request.data
        if isinstance(records, dict):
            records = records.get("tweets", [records])
        if not isinstance(records, list):
            return Response({"error": _("expected a JSON array of tweets or NDJSON")}, status=400)
        if len(records) > limits.stream_max_records:
            return Response({"error": _("at most %(limit)d tweets per request")
                                      % {"limit": limits.stream_max_records}}, status=413)
        missing = _missing_fields(records, format_name)
        if missing:
            return Response({"error": missing}, status=400)
        job = services.ingest_records(records=records, source=source, format_name=format_name,
                                      user=request.user.get_username())  # IngestError: a 400 (dallosh/errors)
        # 202: the same request is being ingested by another call right now (a client retrying
        # after a timeout); this is its job, to follow at /ingest/jobs/<id>.
        done = job.status == services.JobStatus.COMPLETED
        return Response(selectors.job_progress(job),
                        status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED)


def _missing_fields(records: list, format_name: str | None) -> str:
    """With an explicit format, each tweet has that format's fields, as a file has its
    columns (without one, the fields found name the format). The message names the first
    tweet that lacks some, and which."""
    fmt = format_by_name(format_name) if format_name else None  # a known name: the query was validated
    if fmt is None or not all(isinstance(record, dict) for record in records):
        return ""  # the service names what is wrong
    for number, record in enumerate(records, start=1):
        lacking = [field for field in fmt.columns if field not in record]
        if lacking:
            return _("not in the %(format)s format: tweet %(number)d lacks the fields %(lacking)s; each tweet "
                     "needs the fields %(expected)s") % {"format": fmt.name, "number": number,
                                                         "lacking": ", ".join(lacking),
                                                         "expected": ", ".join(fmt.columns)}
    return ""


class MailIngestView(APIView):
    """POST e-mails as received: one RFC 822 message (message/rfc822) or an mbox
    (application/mbox). Each is stored raw, threaded by its Message-ID and references, and
    made a ticket where a customer writes; what cannot be read is quarantined with its reason.
    The same body sent again stores nothing twice."""

    permission_classes = [CanIngest]
    parser_classes = [RawMailParser, MboxParser]

    @extend_schema(request={"message/rfc822": {"type": "string", "format": "binary"},
                            "application/mbox": {"type": "string", "format": "binary"}},
                   responses={201: JobProgressSerializer, 202: JobProgressSerializer, **refusals(400, 413, 415)})
    def post(self, request):
        limit = settings.DALLOSH_INGEST.stream_max_bytes
        if int(request.headers.get("Content-Length") or 0) > limit:
            return Response({"error": _("payload over %(limit)d bytes; send larger mailboxes with manage.py "
                                        "ingest_mail") % {"limit": limit}},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        messages = [raw for raw in request.data if raw]
        job = services.ingest_mails(messages=messages, user=request.user.get_username())  # IngestError: a 400
        done = job.status == services.JobStatus.COMPLETED
        return Response(selectors.job_progress(job),
                        status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED)


class CallIngestView(APIView):
    """POST one call transcript as its file: JSON (turns with roles and times), WebVTT, SRT or
    plain text ("Client : …" / "Agent : …"). It is stored raw, becomes one conversation whose
    customer's turns the model reads, and a ticket; what cannot be read is quarantined with
    its reason. The same call sent again is stored once."""

    permission_classes = [CanIngest]
    parser_classes = TRANSCRIPT_PARSERS

    @extend_schema(parameters=[CallQuerySerializer],
                   request={"application/json": JsonTranscriptSerializer,
                            **{media: {"type": "string", "format": "binary"} for media in TRANSCRIPT_TYPES[1:]}},
                   responses={201: JobProgressSerializer, 202: JobProgressSerializer, **refusals(400, 413, 415)})
    def post(self, request):
        limit = transcripts.MAX_TRANSCRIPT_BYTES
        if int(request.headers.get("Content-Length") or 0) > limit:
            return Response({"error": _("a transcript over %(limit)d bytes is refused") % {"limit": limit}},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        query = CallQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        raw = request.data if isinstance(request.data, bytes) else b""
        if raw and request.content_type.startswith("application/json"):  # its shape is the schema's
            try:
                document = json_input.loads(raw)
            except ValueError as error:
                raise ParseError(_("the body is not JSON: %(error)s") % {"error": error}) from error
            JsonTranscriptSerializer(data=document).is_valid(raise_exception=True)
        job = services.ingest_calls(calls=[(raw, query.hints())] if raw else [],
                                    user=request.user.get_username())  # IngestError: a 400
        done = job.status == services.JobStatus.COMPLETED
        return Response(selectors.job_progress(job),
                        status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED)


class IngestJobView(APIView):
    permission_classes = [CanIngest]

    @extend_schema(responses={200: JobProgressSerializer, **refusals(404)})
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
