"""Ingestion writes: jobs for files, uploads and stream requests, run chunk by chunk.

The three doors (CLI, web upload, stream API) all end in `run_job` or `ingest_records`,
which feed chunks to `pipeline.process_chunk`. A job is resumable: its checkpoint
(`next_row`, `bytes_done`) moves only after a chunk is fully written, and a job whose
runner died (stale heartbeat) can be taken over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bson import ObjectId
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError
from redis.exceptions import RedisError

from dallosh.announce import announce
from dallosh.errors import Conflict, Invalid
from dallosh.files import sha256_of
from dallosh.vocabulary import CALL, EMAIL
from ingestion import events, pipeline, store, threads, transcripts
from ingestion.formats import (
    CALL_FORMAT,
    EMAIL_FORMAT,
    CsvFormat,
    UnknownFormat,
    detect_format,
    detect_tweet_format,
    format_by_name,
)
from ingestion.mail import mail_record, split_mbox, subject_key
from ingestion.models import IngestJob, JobStatus, Tweet, UploadSession
from ingestion.reader import RawRecord, UnreadableFile, iter_chunks, read_header

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[IngestJob, pipeline.ChunkOutcome], None]


class IngestError(Invalid):
    """Input refused as a whole (empty, binary, unknown format...): the message says why."""


class UploadConflict(IngestError, Conflict):
    """The upload is not in a state this request fits: another request is finishing it, or
    its file was refused and is gone. Answered 409: the client should ask again or re-upload."""


# Stored on the job, like its other errors (read by staff in the admin and the API).
STREAM_LOST = "its request ended before it was ingested; the client's retry of the same request resumes it"


class JobBusy(RuntimeError):
    """Another runner holds this job's lease and is alive."""


def create_file_job(*, path: Path, source: str | None = None, format_name: str | None = None, kind: str = "file",
                    original_name: str | None = None, user: str | None = None) -> IngestJob:
    """The job for this file: a new one, or the existing one for the same content and source.

    Re-ingesting identical content returns the earlier job (completed: nothing to do;
    otherwise it is resumed), so a file is never ingested twice.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(_("%(path)s: no such file") % {"path": path})
    try:
        with path.open("rb") as stream:
            header = read_header(stream)
        fmt = format_by_name(format_name) if format_name else detect_format(header.columns)
    except (UnreadableFile, UnknownFormat) as exc:
        raise IngestError(f"{original_name or path.name}: {exc}") from exc
    if not fmt.matches(header.columns):
        raise IngestError(_("%(file)s: not in the %(format)s format, whose columns are %(columns)s")
                          % {"file": original_name or path.name, "format": fmt.name, "columns": ", ".join(fmt.columns)})
    content_hash = sha256_of(path)
    source = source or fmt.name
    job = _job_for(content_hash=content_hash, source=source, fields={
        "kind": kind, "format": fmt.name, "path": str(path.resolve()), "original_name": original_name or path.name,
        "size_bytes": path.stat().st_size, "columns": header.columns, "encoding": header.encoding,
        "created_by": user})
    if job.path != str(path.resolve()) and job.status != JobStatus.COMPLETED:
        previous = Path(job.path)
        job.update(set__path=str(path.resolve()))
        job.reload()
        if job.status != JobStatus.RUNNING and job.kind == "upload":
            previous.unlink(missing_ok=True)  # an earlier upload of the same content: this copy replaces it
    return job


def _job_for(*, content_hash: str, source: str, fields: dict) -> IngestJob:
    """The one job for this content and source, created if new. Two requests racing for it
    (a client retrying after a timeout) both get the same job: the unique index lets one
    insert win and the other read it."""
    document = {**fields, "status": JobStatus.PENDING, "counters": {}, "next_row": 0, "bytes_done": 0,
                "created_at": datetime.now(UTC), "seconds_spent": 0.0}
    with contextlib.suppress(DuplicateKeyError):  # the other request's insert won: it is the job
        IngestJob._get_collection().update_one({"content_hash": content_hash, "source": source},
                                               {"$setOnInsert": document}, upsert=True)
    return IngestJob.objects.get(content_hash=content_hash, source=source)


def run_job(*, job_id: ObjectId, on_progress: ProgressCallback | None = None, take_over: bool = False,
            max_seconds: float | None = None) -> IngestJob:
    """Ingest a file job from its checkpoint: to the end, or for about `max_seconds`.

    A job run in slices (`max_seconds`, the workers' way) is left running with no lease after
    a slice, for the next slice to claim at once: no task needs an hour, and a worker killed
    mid-slice loses only its chunk in flight (`resume_stalled_jobs` re-queues the job).
    `take_over` resumes a job marked running whose heartbeat is still fresh: for an operator
    who knows its runner died (killed, machine lost) and will not wait for it to go stale.
    """
    job = _claim(job_id, take_over=take_over)
    if job.status == JobStatus.COMPLETED:
        return job
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    try:
        job, at_end = _ingest_chunks(job, on_progress=on_progress, deadline=deadline)
    except KeyboardInterrupt:
        _finish(job, JobStatus.INTERRUPTED, error="interrupted; run the same command again to resume")
        raise
    except JobBusy:
        raise  # another runner took the job over: it is theirs to finish
    except Exception as exc:
        _finish(job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    if not at_end:
        return _release_for_next_slice(job)
    _settle_late_replies(job)
    finished = _finish(job, JobStatus.COMPLETED)
    if finished.kind == "upload":  # its rows are stored, raw, for audit: the uploaded file is not needed
        Path(finished.path).unlink(missing_ok=True)
    return finished


def _ingest_chunks(job: IngestJob, *, on_progress: ProgressCallback | None,
                   deadline: float | None) -> tuple[IngestJob, bool]:
    """Process chunks from the job's checkpoint until the file ends (True) or the deadline
    passes after a checkpoint (False)."""
    fmt = format_by_name(job.format)
    ctx = pipeline.JobContext(job.id, job.content_hash, job.source, fmt, job.columns,
                              threads.ConversationResolver.for_large_job())
    with open(job.path, "rb") as stream:
        header = read_header(stream)
        for chunk in iter_chunks(stream, header, chunk_rows=settings.DALLOSH_INGEST.chunk_rows,
                                 chunk_bytes=settings.DALLOSH_INGEST.chunk_bytes, start_row=job.next_row,
                                 start_offset=job.bytes_done or None):
            started = datetime.now(UTC)
            outcome = pipeline.process_chunk(ctx, chunk.records)
            job = _checkpoint(job, outcome, next_row=chunk.records[-1].row + 1, bytes_done=chunk.end_offset,
                              seconds=(datetime.now(UTC) - started).total_seconds())
            if on_progress:
                on_progress(job, outcome)
            if deadline is not None and time.monotonic() >= deadline and chunk.end_offset < job.size_bytes:
                return job, False
    return job, True


def _release_for_next_slice(job: IngestJob) -> IngestJob:
    """Give the lease up, the job still running: the next slice's claim takes it at once."""
    IngestJob._get_collection().update_one({"_id": job.id, "lease": job.lease},
                                           {"$set": {"lease": None, "heartbeat_at": datetime.now(UTC)}})
    return IngestJob.objects.get(id=job.id)


def run_job_slice(*, job_id: ObjectId) -> IngestJob:
    """A worker's turn on a job: one slice of INGEST_SLICE_S, then the job queued again until
    it is done. A job another runner holds is theirs: nothing to do."""
    try:
        job = run_job(job_id=job_id, max_seconds=settings.DALLOSH_INGEST.slice_s)
    except JobBusy as exc:
        logger.info("%s: leaving it to its runner", exc)
        return IngestJob.objects.get(id=job_id)
    if job.status == JobStatus.RUNNING:
        enqueue_job(job_id=job.id)
    return job


def resume_stalled_jobs(*, now: datetime | None = None) -> int:
    """Queue again every file or upload job no runner is working on: running with a stale
    heartbeat (its worker was killed, its machine lost, its task never delivered) or pending
    and never handed to a worker (the broker was down). Run by the housekeeping schedule;
    returns how many were queued. A stream job has no file to resume from: it is marked
    interrupted, for the client's retry of the same request to resume it."""
    now = now or datetime.now(UTC)
    stale = now - timedelta(seconds=settings.DALLOSH_INGEST.stale_after_s)
    collection = IngestJob._get_collection()
    candidates = [*collection.find({"status": JobStatus.RUNNING, "heartbeat_at": {"$lte": stale},
                                    **_not_queued_since(stale)}, {"kind": 1}).limit(100),
                  *collection.find({"status": JobStatus.PENDING, "created_at": {"$lte": stale},
                                    **_not_queued_since(stale), "kind": {"$ne": "stream"}}, {"kind": 1}).limit(100)]
    queued = 0
    for candidate in candidates:
        if candidate["kind"] == "stream":
            collection.update_one({"_id": candidate["_id"], "status": JobStatus.RUNNING,
                                   "heartbeat_at": {"$lte": stale}},
                                  {"$set": {"status": JobStatus.INTERRUPTED, "lease": None, "error": STREAM_LOST}})
        elif _mark_queued(candidate["_id"], now=now, stale=stale):  # another sweeper did not take it first
            _send_to_worker(candidate["_id"])
            queued += 1
    if queued:
        logger.warning("resumed %d stalled ingest jobs", queued)
    return queued


def _not_queued_since(stale: datetime) -> dict:
    return {"$or": [{"queued_at": None}, {"queued_at": {"$lte": stale}}]}


def _mark_queued(job_id: ObjectId, *, now: datetime, stale: datetime) -> bool:
    """Record the job as handed to a worker now, unless it was since `stale` (by another sweeper)."""
    return IngestJob._get_collection().update_one(
        {"_id": job_id, **_not_queued_since(stale)}, {"$set": {"queued_at": now}}).modified_count == 1


def _settle_late_replies(job: IngestJob) -> None:
    adoption = threads.adopt_replies_whose_parent_arrived()
    merges = adoption.merges
    if merges:
        events.derive_tickets(chunk_tweets=[], rebuild={into for _, into in merges}, merges=merges,
                              now=datetime.now(UTC))
        IngestJob._get_collection().update_one({"_id": job.id},
                                               {"$inc": {"counters.conversations_merged": len(merges)}})
    threads.forget_pending(adoption.settled)


def ingest_file(*, path: Path, source: str | None = None, format_name: str | None = None,
                on_progress: ProgressCallback | None = None, user: str | None = None,
                take_over: bool = False) -> IngestJob:
    """The CLI door: create (or find) the job for a file and run it to the end."""
    job = create_file_job(path=path, source=source, format_name=format_name, user=user)
    if job.status == JobStatus.COMPLETED:
        return job
    return run_job(job_id=job.id, on_progress=on_progress, take_over=take_over)


def ingest_records(*, records: list[dict], source: str | None = None, format_name: str | None = None,
                   user: str | None = None) -> IngestJob:
    """The stream door: a batch of tweets as JSON objects, ingested now as one small job.

    A retried request with the same body maps to the same job and stores nothing twice.
    """
    if not records:
        raise IngestError(_("no tweets in the request"))
    if not all(isinstance(r, dict) for r in records):
        raise IngestError(_("each tweet must be a JSON object"))
    fields = list(dict.fromkeys(k for r in records for k in r))
    try:
        fmt = format_by_name(format_name) if format_name else detect_tweet_format(fields)
    except UnknownFormat as exc:
        raise IngestError(str(exc)) from exc
    body = json.dumps(records, sort_keys=True, default=str).encode()
    content_hash = "stream-" + hashlib.sha256(body).hexdigest()
    source = source or fmt.name
    columns = list(fmt.columns)
    return _ingest_at_once(
        content_hash=content_hash, source=source, fmt=fmt, size_bytes=len(body),
        fields={"kind": "stream", "encoding": "utf-8", "created_by": user,
                "original_name": f"stream ({len(records)} tweets)"},
        read_records=lambda: [RawRecord(i, 0, json.dumps(r, ensure_ascii=False, default=str),
                                        [_as_text(r.get(c)) for c in columns]) for i, r in enumerate(records)])


def ingest_mails(*, messages: list[bytes], user: str | None = None, source: str = EMAIL,
                 origin: str | None = None) -> IngestJob:
    """The e-mail door (.eml and .mbox files, raw RFC 822 to the API): these messages
    ingested now as one small job, each stored raw first, exactly as received. One that
    cannot be read is quarantined with its reason; one received again (the same bytes, or
    the same Message-ID) is stored once; a retried request maps to the same job."""
    if not messages:
        raise IngestError(_("no e-mail in the request"))
    digest = hashlib.sha256()
    for raw in messages:
        digest.update(hashlib.sha256(raw).digest())
    content_hash = "mail-" + digest.hexdigest()
    size = sum(len(raw) for raw in messages)

    def records() -> list[RawRecord]:
        brands = {address.casefold() for address in settings.DALLOSH_INGEST.brand_addresses}
        read = [mail_record(row=row, raw=raw, brand_addresses=brands) for row, raw in enumerate(messages)]
        _thread_by_subject(read)
        return read

    return _ingest_at_once(
        content_hash=content_hash, source=source, fmt=EMAIL_FORMAT, size_bytes=size, read_records=records,
        fields={"kind": "mail", "encoding": "rfc822", "created_by": user,
                "original_name": origin or ngettext("%(count)d e-mail", "%(count)d e-mails",
                                                    len(messages)) % {"count": len(messages)}})


MAIL_FILES = (".eml", ".mbox")
TRANSCRIPT_FILES = (".json", ".vtt", ".srt", ".txt")


def ingest_message_files(*, files: list[tuple[str, bytes]], user: str, hints: transcripts.Hints) -> list[IngestJob]:
    """The upload page's files of messages: .eml and .mbox as e-mails (one job), transcripts
    as calls (one job, `hints` for what their files do not say). A file of another kind is
    refused before anything is stored, naming it."""
    wrong = [name for name, _raw in files if not name.lower().endswith(MAIL_FILES + TRANSCRIPT_FILES)]
    if wrong:
        raise IngestError(_("%(files)s: not an e-mail (.eml, .mbox) nor a call transcript (.json, .vtt, .srt, .txt)")
                          % {"files": ", ".join(wrong)})
    mails: list[bytes] = []
    for name, raw in files:
        if name.lower().endswith(".mbox"):
            mails.extend(_mbox_messages(raw))
        elif name.lower().endswith(".eml"):
            mails.append(raw)
    calls = [(raw, hints) for name, raw in files if name.lower().endswith(TRANSCRIPT_FILES)]
    names = ", ".join(name for name, _raw in files)[:200]
    return ([ingest_mails(messages=mails, user=user, origin=names)] if mails else []) + (
        [ingest_calls(calls=calls, user=user, origin=names)] if calls else [])


def _mbox_messages(raw: bytes) -> list[bytes]:
    with tempfile.NamedTemporaryFile(suffix=".mbox") as box:
        box.write(raw)
        box.flush()
        return list(split_mbox(Path(box.name)))


def _thread_by_subject(records: list[RawRecord]) -> None:
    """A customer's mail that names no parent (a mail client that drops In-Reply-To, or the
    customer writing again under the same subject) joins that sender's latest mail with the
    same subject written within the window before it: one in this batch, else one stored."""
    window = timedelta(hours=settings.DALLOSH_INGEST.mail_thread_window_h)
    at = {name: position for position, name in enumerate(EMAIL_FORMAT.columns)}
    latest: dict[tuple[str, str], tuple[datetime, str]] = {}  # (sender, subject) → this batch's last mail
    for record in sorted((r for r in records if r.fields), key=lambda r: r.fields[at["date"]]):
        fields = record.fields
        subject = subject_key(json.loads(fields[at["mail"]]).get("subject"))
        if fields[at["is_brand"]] == "true" or fields[at["is_automated"]] == "true" or not subject:
            continue
        sender, key = fields[at["sender"]], fields[at["message_key"]]
        written = datetime.fromisoformat(fields[at["date"]])
        if not fields[at["parent_key"]]:
            earlier = latest.get((sender, subject))
            fields[at["parent_key"]] = (earlier[1] if earlier and written - earlier[0] <= window
                                        else _stored_mail_on(subject, sender=sender, before=written, window=window,
                                                             other_than=key))
        latest[(sender, subject)] = (written, key)


def _stored_mail_on(subject: str, *, sender: str, before: datetime, window: timedelta, other_than: str) -> str:
    """The key of the sender's latest stored mail on this subject within the window, or ""."""
    mails = store.mails_of_sender(sender, since=before - window, until=before)
    return next((m["tweet_id"] for m in mails
                 if m["tweet_id"] != other_than and subject_key((m.get("mail") or {}).get("subject")) == subject), "")


def ingest_calls(*, calls: list[tuple[bytes, transcripts.Hints]], user: str | None = None,
                 origin: str | None = None) -> IngestJob:
    """The transcript door (upload, CLI, API): these calls ingested now as one small job, each
    file stored raw first. One that cannot be read is quarantined with its reason; the same
    call sent again is stored once (its id, or the hash of its bytes); a retried request maps
    to the same job."""
    if not calls:
        raise IngestError(_("no transcript in the request"))
    digest = hashlib.sha256()
    for raw, hints in calls:
        digest.update(hashlib.sha256(raw).digest() + repr(hints).encode())
    size = sum(len(raw) for raw, _hints in calls)
    agents = set(settings.DALLOSH_INGEST.call_agent_speakers)
    return _ingest_at_once(
        content_hash="call-" + digest.hexdigest(), source=CALL, fmt=CALL_FORMAT, size_bytes=size,
        fields={"kind": "call", "encoding": "utf-8", "created_by": user,
                "original_name": origin or ngettext("%(count)d call", "%(count)d calls", len(calls))
                % {"count": len(calls)}},
        read_records=lambda: [transcripts.call_record(row=row, raw=raw, hints=hints, agent_speakers=agents)
                              for row, (raw, hints) in enumerate(calls)])


def _ingest_at_once(*, content_hash: str, source: str, fmt: CsvFormat, size_bytes: int, fields: dict,
                    read_records: Callable[[], list[RawRecord]]) -> IngestJob:
    """A small job's whole life, for the doors that ingest within the request (the stream,
    e-mails, transcripts): the job of this content (a retry finds it, done, or answered as it
    stands while another call ingests it), claimed, then its records, read only once it is
    ours, through the pipeline as one chunk."""
    job = _job_for(content_hash=content_hash, source=source,
                   fields={"format": fmt.name, "size_bytes": size_bytes, "columns": list(fmt.columns), **fields})
    if job.status == JobStatus.COMPLETED:
        return job
    try:
        job = _claim(job.id)
    except JobBusy:
        return job  # the same content is being ingested right now: its job, still running
    records = read_records()
    started = datetime.now(UTC)
    ctx = pipeline.JobContext(job.id, job.content_hash, job.source, fmt, list(fmt.columns),
                              threads.ConversationResolver())
    try:
        outcome = pipeline.process_chunk(ctx, records)
    except Exception as exc:  # a retry of the same request resumes it (nothing is stored twice)
        _finish(job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    job = _checkpoint(job, outcome, next_row=len(records), bytes_done=size_bytes,
                      seconds=(datetime.now(UTC) - started).total_seconds())
    return _finish(job, JobStatus.COMPLETED)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _claim(job_id: ObjectId, *, take_over: bool = False) -> IngestJob:
    """Take the job's lease: it must be resumable, between two slices, or running with a stale
    heartbeat."""
    now = datetime.now(UTC)
    stale = now if take_over else now - timedelta(seconds=settings.DALLOSH_INGEST.stale_after_s)
    claimed = IngestJob._get_collection().find_one_and_update(
        {"_id": job_id, "$or": [{"status": {"$in": list(JobStatus.RESUMABLE)}},
                                {"status": JobStatus.RUNNING, "lease": None},  # between two slices
                                {"status": JobStatus.RUNNING, "heartbeat_at": {"$lte": stale}}]},
        {"$set": {"status": JobStatus.RUNNING, "lease": uuid.uuid4().hex, "heartbeat_at": now, "error": None},
         "$min": {"started_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    job = IngestJob.objects.get(id=job_id)
    if claimed is None and job.status != JobStatus.COMPLETED:
        raise JobBusy(f"ingest job {job_id} is running elsewhere (heartbeat {job.heartbeat_at:%H:%M:%S} UTC)")
    return job


def _checkpoint(job: IngestJob, outcome: pipeline.ChunkOutcome, *, next_row: int, bytes_done: int,
                seconds: float) -> IngestJob:
    increments = {f"counters.{k}": v for k, v in asdict(outcome).items() if isinstance(v, int) and v}
    increments |= {f"quarantine_reasons.{label}": n for label, n in outcome.quarantine_reasons.items()}
    updated = IngestJob._get_collection().find_one_and_update(
        {"_id": job.id, "lease": job.lease} if job.lease else {"_id": job.id},
        {"$inc": {**increments, "seconds_spent": seconds},
         "$set": {"next_row": next_row, "bytes_done": bytes_done, "heartbeat_at": datetime.now(UTC)}},
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        raise JobBusy(f"ingest job {job.id} was taken over by another runner")
    _hand_to_analysis()
    return IngestJob._from_son(updated)


def _hand_to_analysis() -> None:
    """The tickets this chunk created or changed may be analysed now (analysis subscribes)."""
    announce(events.chunk_checkpointed, about="a checkpointed chunk", sender=IngestJob)


def _finish(job: IngestJob, status: str, *, error: str | None = None) -> IngestJob:
    """End the job, if this runner still holds its lease: a runner that lost it (another took
    the job over) must not mark the other's work failed or done."""
    IngestJob._get_collection().update_one(
        {"_id": job.id, "lease": job.lease} if job.lease else {"_id": job.id},
        {"$set": {"status": status, "error": error, "finished_at": datetime.now(UTC), "lease": None}},
    )
    return IngestJob.objects.get(id=job.id)


# --- web upload: a file sent in slices, then ingested by a django-q2 worker ------------------

def store_recorded_tweet(*, tweet: dict) -> None:
    """Store a tweet Dallosh recorded itself (an agent's reply, already shaped and cleaned)
    and announce it as stored, like an ingested one; a replay stores and announces nothing."""
    if not store.insert_new_tweets([tweet]):  # the ids already stored
        events.stored(sender=Tweet, tweets=[tweet])


def start_upload(*, user: str, filename: str, size_bytes: int, source: str | None = None) -> UploadSession:
    limit = settings.DALLOSH_INGEST.upload_max_bytes
    if size_bytes <= 0:
        raise IngestError(_("%(file)s: the file is empty") % {"file": filename})
    if size_bytes > limit:
        raise IngestError(_("%(file)s: %(size)d bytes is over the upload limit of %(limit)d bytes")
                          % {"file": filename, "size": size_bytes, "limit": limit})
    if not filename.lower().endswith((".csv", ".txt")):
        raise IngestError(_("%(file)s: only CSV files can be ingested") % {"file": filename})
    upload = UploadSession(user=user, filename=Path(filename).name, size_bytes=size_bytes, source=source or None,
                           created_at=datetime.now(UTC)).save()
    _upload_path(upload).parent.mkdir(parents=True, exist_ok=True)
    _upload_path(upload).write_bytes(b"")
    return upload


def append_upload_chunk(*, upload_id: str, user: str, offset: int, data: bytes) -> UploadSession:
    """Append one slice at `offset`; a slice sent twice (a retry) is ignored."""
    upload = _own_upload(upload_id, user)
    if upload is None:
        raise IngestError(_("unknown upload"))
    if upload.job:
        raise IngestError(_("this upload is already complete"))
    if offset != upload.received_bytes:
        if offset + len(data) <= upload.received_bytes:
            return upload  # already have it
        raise IngestError(_("expected the slice at byte %(expected)d, got %(offset)d")
                          % {"expected": upload.received_bytes, "offset": offset})
    if upload.received_bytes + len(data) > upload.size_bytes:
        raise IngestError(_("more bytes than announced"))
    try:
        with _upload_path(upload).open("r+b") as stream:
            stream.seek(offset)
            stream.write(data)
    except FileNotFoundError:  # a finish took it (or refused it) meanwhile
        raise UploadConflict(_("this upload's file is gone (finished or refused): upload the file again")) from None
    upload.update(set__received_bytes=offset + len(data))
    upload.reload()
    return upload


def finish_upload(*, upload_id: str, user: str) -> IngestJob:
    """Check the complete file, create its job and hand it to a worker.

    Finishing again (a retry after a lost answer, a double click) answers the job the first
    finish made, without reading the whole file again; a finish racing another is told so
    (UploadConflict) instead of failing on the file the other one moved."""
    upload = _own_upload(upload_id, user)
    if upload is None:
        raise IngestError(_("unknown upload"))
    if upload.job:
        return _upload_job(upload)
    if upload.received_bytes != upload.size_bytes:
        raise IngestError(_("upload incomplete: %(received)d of %(size)d bytes")
                          % {"received": upload.received_bytes, "size": upload.size_bytes})
    staged = _upload_path(upload)
    final = staged.with_name(f"{upload.id}-{upload.filename}")
    try:
        shutil.move(staged, final)  # a rename: of two finishes at once, one takes the file
    except FileNotFoundError:
        upload.reload()
        return _upload_job(upload)
    try:
        job = create_file_job(path=final, source=upload.source, kind="upload", original_name=upload.filename,
                              user=user)
    except IngestError:
        final.unlink(missing_ok=True)
        raise
    upload.update(set__job=job.id)
    if Path(job.path) != final.resolve():
        final.unlink(missing_ok=True)  # identical content, already ingested: the job keeps what it had
    if job.status != JobStatus.COMPLETED:
        enqueue_job(job_id=job.id)
    return job


ABANDONED_AFTER = timedelta(hours=24)


def expire_abandoned_uploads(*, now: datetime | None = None) -> int:
    """Delete the uploads left unfinished for ABANDONED_AFTER (a closed tab, a lost network):
    their partial file and their session. Run by the housekeeping schedule; returns how many."""
    now = now or datetime.now(UTC)
    expired = 0
    for upload in UploadSession.objects(job=None, created_at__lt=now - ABANDONED_AFTER).limit(1000):
        _upload_path(upload).unlink(missing_ok=True)
        upload.delete()
        expired += 1
    return expired



def _own_upload(upload_id: str, user: str) -> UploadSession | None:
    """The user's upload session; None for an unknown id, or for one that is no id at all."""
    if not ObjectId.is_valid(upload_id):
        return None
    return UploadSession.objects(id=upload_id, user=user).first()


def _upload_job(upload: UploadSession) -> IngestJob:
    """The job an earlier finish of this upload made, read back (the file is not hashed again)."""
    job = IngestJob.objects(id=upload.job).first() if upload.job else None
    if job is None:
        raise UploadConflict("this upload is being finished by another request, or its file was refused: "
                             "ask again in a moment, or upload the file again")
    return job


def enqueue_job(*, job_id: ObjectId) -> None:
    """Hand the job's next slice to a housekeeping worker. A broker that is down loses
    nothing: the job stays as it is and `resume_stalled_jobs` queues it once it is stale."""
    IngestJob._get_collection().update_one({"_id": job_id}, {"$set": {"queued_at": datetime.now(UTC)}})
    _send_to_worker(job_id)


def _send_to_worker(job_id: ObjectId) -> None:
    from django_q.tasks import async_task

    try:
        async_task("ingestion.tasks.run_ingest_job", str(job_id), task_name=f"ingest-{job_id}")
    except RedisError:
        logger.exception("ingest job %s could not be queued; the housekeeping schedule will queue it", job_id)


def _upload_path(upload: UploadSession) -> Path:
    return Path(settings.DALLOSH_INGEST.upload_dir) / f"{upload.id}.part"


def upload_chunk_bytes() -> int:
    return int(settings.DALLOSH_INGEST.upload_chunk_bytes)
