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
           "DALLOSH_INGEST_STALE_AFTER_S": "0", "DJANGO_SETTINGS_MODULE": "dallosh.settings"}
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


def test_interrupted_job_is_marked_and_resumed_in_process(shared_data, settings):
    from ingestion import services

    settings.DALLOSH = {**settings.DALLOSH, "INGEST_CHUNK_ROWS": 500}
    job = services.create_file_job(path=shared_data / "free_tweets_fr.csv")

    def stop_after_two_chunks(current, _outcome):
        if current.next_row >= 1000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        services.run_job(job_id=job.id, on_progress=stop_after_two_chunks)
    job.reload()
    assert job.status == JobStatus.INTERRUPTED and job.next_row == 1000
    job = services.run_job(job_id=job.id)
    assert job.status == JobStatus.COMPLETED and job.counters.rows_read == 3764
    assert Tweet.objects.count() == 3764


def test_a_runner_that_lost_its_lease_leaves_the_job_to_the_new_runner(shared_data, settings):
    """Runner A stalls, runner B takes the job over; when A wakes, its next checkpoint is
    refused and A stops without marking B's job failed."""
    from ingestion import services

    settings.DALLOSH = {**settings.DALLOSH, "INGEST_CHUNK_ROWS": 500}
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
           "DJANGO_SETTINGS_MODULE": "dallosh.settings"}
    killed = subprocess.run([sys.executable, "-c", KILL_BEFORE_MERGING, str(parent)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert Ticket.objects.get(id="twcs:21").status == "new"  # killed before the merge

    call_command("ingest", str(parent), "--no-progress", "--take-over")
    assert Ticket.objects.get(id="twcs:21").status == "merged"
    assert Ticket.objects.get(id="twcs:20").tweet_ids == ["twcs:20", "twcs:21"]
    assert [t.id for t in Ticket.objects(status__ne="merged")] == ["twcs:20"]
    assert PendingReply.objects.count() == 0
