"""django-q2 tasks: ingestion that must not run inside a web request."""

import dataclasses

from bson import ObjectId
from django.conf import settings

from dallosh import leases
from ingestion import mailbox, outbox, services


def run_ingest_job(job_id: str) -> dict:
    """One slice of an ingest job; the job queues its next slice itself until it is done."""
    job = services.run_job_slice(job_id=ObjectId(job_id))
    return {"job": str(job.id), "status": job.status, "next_row": job.next_row}


def resume_stalled_jobs() -> int:
    """Scheduled every minute (ingestion/migrations/0002): jobs whose worker died are queued again."""
    return services.resume_stalled_jobs()


def expire_abandoned_uploads() -> int:
    """Scheduled (ingestion/migrations/0001): uploads left unfinished for a day are deleted."""
    return services.expire_abandoned_uploads()


def poll_mailbox() -> dict | None:
    """Scheduled every minute (ingestion/migrations/0003): the support mailbox's new messages
    become e-mails of the pipeline; nothing to do where no mailbox is configured."""
    url = settings.DALLOSH_MAIL.imap_url
    if not url:
        return None
    try:
        return dataclasses.asdict(mailbox.poll_mailbox(url=url))  # a backlog goes on at the next poll
    except leases.LeaseTaken:
        return None  # the previous poll is still reading: it goes on where it is


def send_mail_replies() -> int:
    """Scheduled every minute (ingestion/migrations/0004), and queued as a reply is recorded:
    agents' e-mail replies whose attempt is due are sent."""
    return outbox.send_due() if outbox.sending_enabled() else 0
