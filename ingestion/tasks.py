"""django-q2 tasks: ingestion that must not run inside a web request."""

from bson import ObjectId

from ingestion import services


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
