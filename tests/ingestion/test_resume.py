"""An ingest killed mid-file resumes from its last chunk: nothing lost, nothing doubled."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import IngestJob, JobStatus, RawRow, Tweet
from tickets.models import Ticket

ROOT = Path(__file__).resolve().parents[2]


def test_killed_ingest_resumes_to_the_same_result(shared_data, servers):
    env = {**os.environ, "MONGODB_URI": servers["mongodb"], "DALLOSH_INGEST_CHUNK_ROWS": "250",
           "DALLOSH_INGEST_STALE_AFTER_S": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    path = shared_data / "twcs_sample.csv"
    process = subprocess.Popen([sys.executable, "manage.py", "ingest", str(path), "--no-progress"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    job = None
    while time.monotonic() < deadline:
        job = IngestJob.objects.first()
        if job and job.next_row >= 1000:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    job.reload()
    assert job.status == JobStatus.RUNNING and 0 < job.next_row < 5000, "kill the run mid-file"
    stored_before = RawRow.objects.count()

    with pytest.raises(CommandError, match="--take-over"):  # its heartbeat is fresh: it might be alive
        call_command("ingest", str(path), "--no-progress")
    call_command("ingest", str(path), "--no-progress", "--take-over")

    job.reload()
    assert job.status == JobStatus.COMPLETED and job.next_row == 5000
    # The killed chunk's counts were never checkpointed: its replay counts each row once.
    counters = job.counters
    assert counters.rows_read == 5000 == counters.tweets_created + counters.tweets_already_known
    assert stored_before < 5000 and RawRow.objects.count() == 5000 and Tweet.objects.count() == 5000
    resumed_tickets = sorted(t.id for t in Ticket.objects(status="new").only("id"))
    chain = Ticket.objects.get(id="twcs:8").tweet_ids

    for document in (RawRow, Tweet, Ticket, IngestJob):
        document._get_collection().delete_many({})
    from ingestion.models import PendingReply, TextFingerprint

    PendingReply._get_collection().delete_many({})
    TextFingerprint._get_collection().delete_many({})
    call_command("ingest", str(path), "--no-progress")  # an uninterrupted run, for comparison
    assert sorted(t.id for t in Ticket.objects(status="new").only("id")) == resumed_tickets
    assert Ticket.objects.get(id="twcs:8").tweet_ids == chain


def sixty_tweets(write_csv) -> Path:
    from tests.helpers import twcs_csv, twcs_row

    return write_csv("sixty.csv", twcs_csv(*(twcs_row(n, 100 + n, f"cust{n}", "True", f"no signal, day {n}",
                                                      minute=n % 60) for n in range(60))))


def test_interrupted_job_is_marked_and_resumed_in_process(settings, write_csv):
    from ingestion import services

    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(chunk_rows=20)
    job = services.create_file_job(path=sixty_tweets(write_csv))

    def stop_after_two_chunks(current, _outcome):
        if current.next_row >= 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.run_job(job_id=job.id, on_progress=stop_after_two_chunks)
    job.reload()
    assert job.status == JobStatus.INTERRUPTED and job.next_row == 40
    job = services.run_job(job_id=job.id)
    assert job.status == JobStatus.COMPLETED and job.counters.rows_read == 60
    assert Tweet.objects.count() == 60


def test_a_runner_that_lost_its_lease_leaves_the_job_to_the_new_runner(shared_data, settings):
    """Runner A stalls, runner B takes the job over; when A wakes, its next checkpoint is
    refused and A stops without marking B's job failed."""
    from ingestion import services

    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(chunk_rows=500)
    job = services.create_file_job(path=shared_data / "free_tweets_fr.csv")
    taken = {}

    def taken_over_after_the_first_chunk(current, _outcome):
        if not taken:
            taken["lease"] = services._claim(current.id, take_over=True).lease  # runner B's claim

    with pytest.raises(services.JobBusy):
        services.run_job(job_id=job.id, on_progress=taken_over_after_the_first_chunk)
    job.reload()
    assert (job.status, job.lease, job.error) == (JobStatus.RUNNING, taken["lease"], None)


KILL_BEFORE_MERGING = """
import os, signal, sys
import django
django.setup()
from tickets import conversations
from ingestion import services

def killed(**_kwargs):  # the process dies after the adoption, before the tickets are merged
    os.kill(os.getpid(), signal.SIGKILL)

conversations.merge_tickets = killed
services.ingest_file(path=sys.argv[1])
"""


def test_a_kill_between_adopting_replies_and_merging_tickets_leaves_no_duplicate_ticket(servers, write_csv):
    """A reply arrives before its parent (a provisional ticket); when the parent comes, the
    reply's conversation is adopted and its ticket merged. Killed between the two steps, the
    replayed chunk must still merge it: one open ticket for the conversation, not two."""
    from ingestion.models import PendingReply
    from tests.helpers import twcs_csv, twcs_row

    call_command("ingest", str(write_csv("reply.csv", twcs_csv(
        twcs_row(0, 21, "cust", "True", "any news about the outage?", reply_to="20", minute=5)))), "--no-progress")
    assert Ticket.objects.get(id="twcs:21").status == "new" and PendingReply.objects.count() == 1
    parent = write_csv("parent.csv", twcs_csv(twcs_row(0, 20, "cust", "True", "internet down in Lyon", minute=1)))
    env = {**os.environ, "MONGODB_URI": servers["mongodb"], "DALLOSH_INGEST_STALE_AFTER_S": "0",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    killed = subprocess.run([sys.executable, "-c", KILL_BEFORE_MERGING, str(parent)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert Ticket.objects.get(id="twcs:21").status == "new"  # killed before the merge

    call_command("ingest", str(parent), "--no-progress", "--take-over")
    assert Ticket.objects.get(id="twcs:21").status == "merged"
    assert Ticket.objects.get(id="twcs:20").tweet_ids == ["twcs:20", "twcs:21"]
    assert [t.id for t in Ticket.objects(status__ne="merged")] == ["twcs:20"]
    assert PendingReply.objects.count() == 0


def test_a_job_run_in_slices_is_left_to_the_next_slice_and_ends_with_every_row_once(settings, write_csv):
    """A worker runs a job for INGEST_SLICE_S, then gives its lease up with the job still
    running: the next slice claims it at once, and no slice needs the cluster's hour."""
    from ingestion import services

    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(chunk_rows=20)
    job = services.create_file_job(path=sixty_tweets(write_csv))
    job = services.run_job(job_id=job.id, max_seconds=0)  # one chunk, then the deadline has passed
    assert (job.status, job.lease, job.next_row) == (JobStatus.RUNNING, None, 20)
    slices = 1
    while job.status == JobStatus.RUNNING:
        job = services.run_job(job_id=job.id, max_seconds=0)
        slices += 1
    assert job.status == JobStatus.COMPLETED and slices == 3
    assert job.counters.rows_read == 60 == job.counters.tweets_created
    assert Tweet.objects.count() == 60 == RawRow.objects.count()


@pytest.mark.django_db
def test_the_housekeeping_schedule_queues_stalled_jobs_once(broker, settings):
    """Every minute, jobs running with a stale heartbeat, or pending and never queued (the
    broker was down), are queued again, once; a stale stream request cannot be resumed here
    (no file), so it is marked interrupted for the client's retry; a live job is left alone."""
    from datetime import UTC, datetime, timedelta
    from importlib import import_module

    from django.apps import apps
    from django_q.brokers import get_broker
    from django_q.models import Schedule

    from ingestion import services

    import_module("ingestion.migrations.0002_resume_stalled_jobs_schedule").create(apps, None)
    schedule = Schedule.objects.get(func="ingestion.tasks.resume_stalled_jobs")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 1, -1)

    now = datetime.now(UTC)
    long_ago = now - timedelta(seconds=settings.DALLOSH_INGEST.stale_after_s + 60)

    def job(name: str, **fields) -> IngestJob:
        return IngestJob(**{"kind": "upload", **fields}, source="twcs", format="twcs", content_hash=name,
                         path=f"/uploads/{name}.csv", created_at=long_ago).save()

    dead = job("dead", status=JobStatus.RUNNING, lease="a", heartbeat_at=long_ago, queued_at=long_ago)
    never_queued = job("never-queued")
    alive = job("alive", status=JobStatus.RUNNING, lease="b", heartbeat_at=now)
    stream = job("stream", kind="stream", status=JobStatus.RUNNING, lease="c", heartbeat_at=long_ago)
    queue = get_broker()
    queue.purge_queue()

    assert services.resume_stalled_jobs(now=now) == 2
    assert services.resume_stalled_jobs(now=now) == 0  # already queued: not twice
    assert queue.queue_size() == 2
    for queued in (dead, never_queued):
        queued.reload()
        assert queued.queued_at is not None
    alive.reload()
    stream.reload()
    assert (alive.status, alive.lease, alive.queued_at) == (JobStatus.RUNNING, "b", None)
    assert stream.status == JobStatus.INTERRUPTED and "retry" in stream.error
    queue.purge_queue()


@pytest.mark.django_db(transaction=True)  # the workers write their task results to the SQL database
def test_a_worker_killed_after_its_first_checkpoint_is_resumed_with_every_row_once(settings, write_csv,
                                                                                  start_qcluster):
    """SIGKILL the whole cluster mid-upload: Redis never redelivers its task, the job stays
    "running" with a heartbeat that goes stale, and the schedule hands it to another worker,
    which resumes it at its checkpoint."""
    from ingestion import services
    from tests.helpers import twcs_csv, twcs_row
    from tests.steps import wait_for

    fast = {"DALLOSH_INGEST_CHUNK_ROWS": "250", "DALLOSH_INGEST_STALE_AFTER_S": "1", "DALLOSH_INGEST_SLICE_S": "1"}
    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(stale_after_s=1)
    uploaded = write_csv("upload.csv", twcs_csv(*(twcs_row(n, 1000 + n, f"cust{n}", "True", f"no signal, day {n}",
                                                          minute=n % 60) for n in range(1500))))
    job = services.create_file_job(path=uploaded, kind="upload")
    first = start_qcluster(**fast)
    services.enqueue_job(job_id=job.id)
    wait_for(lambda: IngestJob.objects.get(id=job.id).next_row, until=lambda row: row >= 250, timeout=120,
             every=0.02)
    os.killpg(first.pid, signal.SIGKILL)  # the cluster and its workers: no goodbye
    first.wait()
    job.reload()
    assert job.status == JobStatus.RUNNING and 0 < job.next_row < 1500, "kill the worker mid-file"

    start_qcluster(**fast)
    time.sleep(1.1)  # its heartbeat and its last queuing are stale now
    services.resume_stalled_jobs()
    job = wait_for(lambda: IngestJob.objects.get(id=job.id), until=lambda j: j.status == JobStatus.COMPLETED,
                   timeout=120)
    counters = job.counters
    assert counters.rows_read == 1500 == counters.tweets_created + counters.tweets_already_known
    assert RawRow.objects.count() == 1500 == Tweet.objects.count()
    assert not uploaded.exists()
