"""The ingestion tasks (ingestion/tasks.py) a worker runs, called as django-q2 calls them (by
dotted name, with plain arguments): a job's slice run from its id given as a string, and the
housekeeping schedules' sweeps. No worker process: the task functions on the real stores."""

from datetime import UTC, datetime, timedelta

from django.utils.module_loading import import_string

from ingestion import services
from ingestion.models import IngestJob, JobStatus, Tweet, UploadSession
from tests.helpers import twcs_csv, twcs_record, twcs_row


def test_a_queued_job_is_run_from_its_id_and_reports_where_it_stopped(write_csv):
    path = write_csv("feed.csv", twcs_csv(*(twcs_row(n, 10 + n, f"c{n}", "True", "no signal") for n in range(4))))
    job = services.create_file_job(path=path)
    assert job.status == JobStatus.PENDING
    run_ingest_job = import_string("ingestion.tasks.run_ingest_job")
    assert run_ingest_job(str(job.id)) == {"job": str(job.id), "status": "completed", "next_row": 4}
    assert Tweet.objects.count() == 4


def test_the_sweeps_answer_how_many_they_handled():
    job = services.ingest_records(records=[twcs_record(1, "no signal")], source="twcs")
    # As a stream job whose worker died mid-request: running, its heartbeat long stale.
    IngestJob.objects(id=job.id).update(set__status=JobStatus.RUNNING,
                                        set__heartbeat_at=datetime.now(UTC) - timedelta(hours=1))
    assert import_string("ingestion.tasks.resume_stalled_jobs")() == 0  # nothing to queue: no file to resume
    assert IngestJob.objects.get(id=job.id).status == JobStatus.INTERRUPTED  # the client's retry resumes it
    abandoned = services.start_upload(user="admin", filename="feed.csv", size_bytes=100)
    services.start_upload(user="admin", filename="fresh.csv", size_bytes=100)
    UploadSession.objects(id=abandoned.id).update(set__created_at=datetime.now(UTC) - timedelta(days=2))
    assert import_string("ingestion.tasks.expire_abandoned_uploads")() == 1
    assert [upload.filename for upload in UploadSession.objects] == ["fresh.csv"]
