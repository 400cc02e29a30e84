"""Ingestion documents (MongoDB, mongoengine). Thin data: the logic is in services.py.

The hot path writes these collections with pymongo `insert_many` (see pipeline.py) using
the field names declared here, which are also the stored names.
"""

from __future__ import annotations

import mongoengine as me
from django.conf import settings

from dallosh import vocabulary


class JobStatus:
    PENDING = "pending"
    RUNNING = "running"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    COMPLETED = "completed"
    CHOICES = (PENDING, RUNNING, INTERRUPTED, FAILED, COMPLETED)
    RESUMABLE = (PENDING, INTERRUPTED, FAILED)


class JobCounters(me.EmbeddedDocument):
    rows_read = me.IntField(default=0)
    raw_rows_stored = me.IntField(default=0)
    quarantined = me.IntField(default=0)
    tweets_created = me.IntField(default=0)
    tweets_already_known = me.IntField(default=0)
    retweets = me.IntField(default=0)
    duplicates = me.IntField(default=0)
    brand_posts = me.IntField(default=0)
    tickets_created = me.IntField(default=0)
    tickets_updated = me.IntField(default=0)
    conversations_merged = me.IntField(default=0)


class IngestJob(me.Document):
    """One ingest of one file or one stream request: its progress, counters and resume point."""

    kind = me.StringField(choices=("file", "upload", "stream", "mail"), required=True)
    source = me.StringField(required=True)
    format = me.StringField(required=True)
    path = me.StringField()
    original_name = me.StringField()
    content_hash = me.StringField(required=True)
    size_bytes = me.IntField(default=0)
    columns = me.ListField(me.StringField())
    encoding = me.StringField()
    status = me.StringField(choices=JobStatus.CHOICES, default=JobStatus.PENDING)
    error = me.StringField()
    created_by = me.StringField()
    counters = me.EmbeddedDocumentField(JobCounters, default=JobCounters)
    quarantine_reasons = me.DictField()  # reason kind -> rows quarantined for it
    # Resume point: rows [0, next_row) are fully processed; bytes_done is where they end.
    next_row = me.IntField(default=0)
    bytes_done = me.IntField(default=0)
    lease = me.StringField()
    heartbeat_at = me.DateTimeField()
    queued_at = me.DateTimeField()  # last handed to a worker: the sweeper does not queue it twice
    created_at = me.DateTimeField(required=True)
    started_at = me.DateTimeField()
    finished_at = me.DateTimeField()
    seconds_spent = me.FloatField(default=0.0)

    meta = {
        "collection": "ingest_jobs",
        "indexes": [
            {"fields": ["content_hash", "source"], "unique": True},
            {"fields": ["-created_at"]},
            {"fields": ["status", "-created_at"]},
            {"fields": ["status", "heartbeat_at"]},  # the stalled running jobs
        ],
    }

    @property
    def progress(self) -> float:
        if self.status == JobStatus.COMPLETED:
            return 1.0
        return min(self.bytes_done / self.size_bytes, 1.0) if self.size_bytes else 0.0


class RawRow(me.Document):
    """A row exactly as it came in, stored before any parsing, for audit.

    `_id` is "<content hash>:<row number>", so re-ingesting a file stores nothing twice.
    `values` are the fields as read, aligned with the job's `columns`; `raw_text` is kept
    only where the row could not be split into fields.
    """

    id = me.StringField(primary_key=True)
    job = me.ObjectIdField(required=True)
    row = me.IntField(required=True)
    values = me.ListField(me.StringField())
    raw_text = me.StringField()
    raw_bytes = me.BinaryField()  # an e-mail exactly as received (RFC 822), whatever its charset
    received_at = me.DateTimeField(required=True)

    meta = {"collection": "raw_rows", "indexes": [{"fields": ["job", "row"]}]}


class QuarantinedRow(me.Document):
    """A row that could not become a tweet, with its raw text and the reason."""

    id = me.StringField(primary_key=True)
    job = me.ObjectIdField(required=True)
    row = me.IntField(required=True)
    line = me.IntField()
    reason = me.StringField(required=True)
    raw_text = me.StringField()
    at = me.DateTimeField(required=True)

    meta = {"collection": "quarantined_rows", "indexes": [{"fields": ["job", "row"]}, {"fields": ["-at"]}]}


class Tweet(me.Document):
    """A parsed, cleaned tweet. `_id` is "<source>:<tweet id>"."""

    id = me.StringField(primary_key=True)
    source = me.StringField(required=True)
    tweet_id = me.StringField(required=True)
    author = me.StringField(required=True)
    is_brand = me.BooleanField(default=False)
    created_at = me.DateTimeField(required=True)
    text = me.StringField()
    clean_text = me.StringField()
    display_text = me.StringField()  # as written, for people: entities decoded (cleaning.for_display)
    language = me.StringField()
    is_retweet = me.BooleanField(default=False)
    is_duplicate = me.BooleanField(default=False)
    duplicate_of = me.StringField()
    duplicate_kind = me.StringField(choices=("exact", "near"))
    fingerprint = me.StringField()
    reply_to = me.StringField()
    response_ids = me.ListField(me.StringField())
    conversation_id = me.StringField(required=True)
    recorded_by = me.StringField()  # a brand reply an agent recorded in Dallosh: who
    # The channel it came by (absent on tweets stored before there were others: twitter).
    channel = me.StringField(choices=vocabulary.CHANNELS)
    # An auto-reply, a bounce or a mailing list's post: kept and shown, never a request.
    is_automated = me.BooleanField(default=False)
    mail = me.DictField()  # an e-mail's own fields (ingestion/mail.ParsedMail.as_metadata)
    call = me.DictField()  # a call's number, caller, length and dialogue (ingestion/transcripts.Call.as_metadata)
    job = me.ObjectIdField()
    row = me.IntField()

    meta = {
        "collection": "tweets",
        "indexes": [
            {"fields": ["conversation_id", "created_at"]},
            {"fields": ["author", "created_at"]},
            {"fields": ["created_at"]},
        ],
    }


class TextFingerprint(me.Document):
    """First tweet seen with a given normalised text: how duplicates are found across chunks.

    A later tweet is its duplicate only within `window_s` of it (tweet time, so a replayed
    history is judged as it happened); past that, the later tweet is a new request and
    becomes the fingerprint's first. Fingerprints are dropped `DUPLICATE_FORGET_AFTER_DAYS`
    after they were last stored, so the collection stays bounded."""

    id = me.StringField(primary_key=True)
    tweet = me.StringField(required=True)
    exact = me.StringField(required=True)
    seen_at = me.DateTimeField()  # the first tweet's time
    window_s = me.IntField()
    stored_at = me.DateTimeField()

    meta = {"collection": "text_fingerprints",
            "indexes": [{"fields": ["stored_at"],
                         "expireAfterSeconds": settings.DALLOSH_INGEST.duplicate_forget_after_days * 86400}]}


class PendingReply(me.Document):
    """A reply whose parent tweet has not arrived yet; resolved when it does."""

    id = me.StringField(primary_key=True)  # the child tweet key
    parent = me.StringField(required=True)
    conversation_id = me.StringField(required=True)

    meta = {"collection": "pending_replies", "indexes": [{"fields": ["parent"]}]}


class UploadSession(me.Document):
    """A file being uploaded from the web page in chunks; becomes an IngestJob when complete."""

    user = me.StringField(required=True)
    filename = me.StringField(required=True)
    size_bytes = me.IntField(required=True)
    received_bytes = me.IntField(default=0)
    source = me.StringField()
    job = me.ObjectIdField()
    created_at = me.DateTimeField(required=True)

    meta = {"collection": "upload_sessions",
            "indexes": [{"fields": ["user", "-created_at"]}, {"fields": ["job", "created_at"]}]}


class MailboxCheckpoint(me.Document):
    """How far the support mailbox has been read: the last UID whose message is stored, for
    the folder's UIDVALIDITY. Advanced only after that message's job committed."""

    mailbox = me.StringField(primary_key=True)  # user@host:port/folder, never the password
    uid_validity = me.IntField(required=True)
    last_uid = me.IntField(required=True, default=0)
    messages = me.IntField(default=0)  # fetched through this checkpoint, for the operator
    updated_at = me.DateTimeField(required=True)

    meta = {"collection": "mailbox_checkpoints"}


class OutgoingStatus:
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"
    FAILED = "failed"  # every attempt failed: shown on the ticket, no longer retried
    CHOICES = (PENDING, SENT, FAILED)


class OutgoingMail(me.Document):
    """An agent's reply to an e-mail ticket, composed once and sent over SMTP by the
    housekeeping cluster (ingestion/outbox.py). `_id` is the reply's own message id in the
    conversation, so recording it twice queues it once."""

    id = me.StringField(primary_key=True)
    conversation_id = me.StringField(required=True)
    recipient = me.StringField(required=True)
    message_id = me.StringField(required=True)
    raw = me.BinaryField(required=True)  # the message exactly as sent (and as kept for audit)
    status = me.StringField(choices=OutgoingStatus.CHOICES, default=OutgoingStatus.PENDING)
    attempts = me.IntField(default=0)
    last_error = me.StringField()
    next_attempt_at = me.DateTimeField(required=True)
    claimed_until = me.DateTimeField()  # a sender holds it until then; a dead one's claim lapses
    created_at = me.DateTimeField(required=True)
    sent_at = me.DateTimeField()

    meta = {"collection": "outgoing_mails",
            "indexes": [{"fields": ["status", "next_attempt_at"]}, {"fields": ["conversation_id"]}]}
