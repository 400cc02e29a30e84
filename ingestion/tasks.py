"""django-q2 tasks: ingestion that must not run inside a web request."""

from bson import ObjectId

from ingestion import services


def run_ingest_job(job_id: str) -> dict:
    job = services.run_job(job_id=ObjectId(job_id))
    return {"job": str(job.id), "status": job.status, "rows": job.counters.rows_read}


def expire_abandoned_uploads() -> int:
    """Scheduled (ingestion/migrations/0001): uploads left unfinished for a day are deleted."""
    return services.expire_abandoned_uploads()
