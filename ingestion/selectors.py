"""Ingestion reads: job progress and quarantine, for pages, the API and the admin; and
which tweets of a conversation are the customer's words (the one definition every stage
uses: a ticket exists for them, the models read them, a draft answers them)."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from bson.errors import InvalidId

from ingestion import mail, store
from ingestion.models import IngestJob, JobStatus, QuarantinedRow


def get_job(job_id: str) -> IngestJob | None:
    try:
        return IngestJob.objects(id=ObjectId(job_id)).first()
    except InvalidId:
        return None


def job_progress(job: IngestJob) -> dict:
    counters = job.counters.to_mongo().to_dict() if job.counters else {}
    return {
        "id": str(job.id),
        "status": job.status,
        "source": job.source,
        "format": job.format,
        "file": job.original_name,
        "progress": round(job.progress, 4),
        "rows_done": job.next_row,
        "rows_per_second": round(job.next_row / job.seconds_spent, 1) if job.seconds_spent else None,
        "counters": counters,
        "quarantine_reasons": dict(job.quarantine_reasons or {}),
        "error": job.error,
    }


def recent_jobs(*, limit: int = 50) -> list[IngestJob]:
    return list(IngestJob.objects.order_by("-created_at").limit(limit))


def jobs_running() -> int:
    return IngestJob.objects(status=JobStatus.RUNNING).count()


def quarantined_between(*, start: datetime | None, end: datetime) -> int:
    """Rows quarantined in [start, end) (by when they were read: a bad row has no trusted date)."""
    return store.count_quarantined(start=start, end=end)


def quarantined_rows(*, job: IngestJob, limit: int = 200, after_row: int = -1) -> list[QuarantinedRow]:
    """A page of a job's quarantined rows (keyset on row number)."""
    return list(QuarantinedRow.objects(job=job.id, row__gt=after_row).order_by("row").limit(limit))


def speaks_for_the_customer(tweet: dict) -> bool:
    """A customer's own message: not the brand's, not a retweet, not a repeat of an earlier one,
    not an automated mail (an out-of-office, a bounce)."""
    return not (tweet.get("is_brand") or tweet.get("is_retweet") or tweet.get("is_duplicate")
                or tweet.get("is_automated"))


def customer_words(tweets: list[dict], *, separator: str = " / ") -> str:
    """The customer's messages of a conversation, cleaned, in the order given; an e-mail
    conversation starts with its subject, often its clearest words ("Facture erronée")."""
    own = [t for t in tweets if speaks_for_the_customer(t)]
    texts = [(t.get("clean_text") or t.get("text") or "").strip() for t in own]
    subject = next((t["mail"]["subject"] for t in own if (t.get("mail") or {}).get("subject")), "")
    if subject:
        texts.insert(0, mail.subject_of_thread(subject))
    return separator.join(text for text in texts if text)
