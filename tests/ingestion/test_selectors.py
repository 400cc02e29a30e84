"""Ingestion reads (ingestion/selectors.py): a job's progress as the pages and the API show it,
its quarantined rows page by page, a job id that is junk found as no job, and the one
definition of the customer's own words that every stage above reads. Jobs are made by the
real file ingestion on the MongoDB-protocol server."""

from datetime import UTC, datetime, timedelta

from ingestion import selectors, services
from ingestion.models import IngestJob, JobStatus
from tests.helpers import twcs_csv, twcs_row


def ingest_with_bad_rows(write_csv, good: int, bad: int) -> IngestJob:
    rows = [twcs_row(n, 100 + n, f"cust{n}", "True", f"no signal, day {n}") for n in range(good)]
    rows += [f"{good + n},{200 + n},cust,True,not a date,hello,,\n" for n in range(bad)]
    return services.ingest_file(path=write_csv("feed.csv", twcs_csv(*rows)))


def test_a_finished_job_reports_its_rows_counts_and_quarantine_reasons(write_csv):
    job = ingest_with_bad_rows(write_csv, good=3, bad=2)
    progress = selectors.job_progress(selectors.get_job(str(job.id)))
    assert (progress["id"], progress["status"], progress["format"], progress["file"]) == (
        str(job.id), "completed", "twcs", "feed.csv")
    assert progress["progress"] == 1.0 and progress["rows_done"] == 5 and progress["error"] is None
    assert (progress["counters"]["rows_read"], progress["counters"]["tweets_created"],
            progress["counters"]["quarantined"]) == (5, 3, 2)
    assert progress["quarantine_reasons"] == {"bad created_at": 2}


def test_a_job_id_that_is_no_object_id_or_no_job_is_none():
    assert selectors.get_job("not-an-id") is None
    assert selectors.get_job("0123456789ab0123456789ab") is None


def test_quarantined_rows_come_a_page_at_a_time_after_the_last_row_shown(write_csv):
    job = ingest_with_bad_rows(write_csv, good=1, bad=5)  # rows 1 to 5 are bad
    first = selectors.quarantined_rows(job=job, limit=2)
    assert [row.row for row in first] == [1, 2]
    assert [row.row for row in selectors.quarantined_rows(job=job, limit=2, after_row=first[-1].row)] == [3, 4]
    assert [row.row for row in selectors.quarantined_rows(job=job, limit=2, after_row=4)] == [5]
    now = datetime.now(UTC)
    assert selectors.quarantined_between(start=now - timedelta(hours=1), end=now + timedelta(seconds=1)) == 5
    assert selectors.quarantined_between(start=None, end=now - timedelta(hours=1)) == 0


def test_recent_jobs_come_newest_first_and_none_is_left_running(write_csv):
    older = services.ingest_file(path=write_csv("a.csv", twcs_csv(twcs_row(0, 1, "c1", "True", "no signal"))))
    newer = services.ingest_file(path=write_csv("b.csv", twcs_csv(twcs_row(0, 2, "c2", "True", "fibre down"))))
    assert [job.id for job in selectors.recent_jobs()] == [newer.id, older.id]
    assert [job.id for job in selectors.recent_jobs(limit=1)] == [newer.id]
    assert selectors.jobs_running() == 0
    IngestJob.objects(id=older.id).update(set__status=JobStatus.RUNNING)
    assert selectors.jobs_running() == 1


def test_the_customers_words_leave_out_the_brand_retweets_repeats_and_automated_mail():
    conversation = [
        {"text": "my fibre is down", "clean_text": "my fibre is down"},
        {"text": "@Customer we are on it", "is_brand": True},
        {"text": "RT @someone: fibre down", "is_retweet": True},
        {"text": "my fibre is down", "is_duplicate": True},
        {"text": "I am out of the office", "is_automated": True},
        {"text": "  ", "clean_text": ""},
        {"text": "still down @FreeSupport https://t.co/x", "clean_text": "still down"},
    ]
    assert selectors.customer_words(conversation) == "my fibre is down / still down"
    assert selectors.customer_words(conversation, separator="\n") == "my fibre is down\nstill down"
    assert selectors.customer_words([{"text": "we are on it", "is_brand": True}]) == ""


def test_an_email_conversation_starts_with_its_subject_without_reply_prefixes():
    thread = [{"text": "Le montant est faux.", "mail": {"subject": "Facture de novembre"}},
              {"text": "we are checking", "is_brand": True, "mail": {"subject": "Re: Facture de novembre"}},
              {"text": "Toujours rien.", "mail": {"subject": "RE: TR: Facture de novembre"}}]
    assert selectors.customer_words(thread) == "Facture de novembre / Le montant est faux. / Toujours rien."
    assert selectors.customer_words(thread[2:]) == "Facture de novembre / Toujours rien."
