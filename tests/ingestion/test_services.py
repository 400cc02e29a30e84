"""Ingesting a file (ingestion/services.py): bad rows quarantined with their reason and counts
that reconcile, any encoding read with its accents."""

from django.core.management import call_command
from django.test import Client

from ingestion.models import IngestJob, QuarantinedRow, RawRow, Tweet
from tests.helpers import twcs_csv, twcs_row


def ingest(path):
    call_command("ingest", str(path), "--no-progress")
    return IngestJob.objects.order_by("-created_at").first()


def test_bad_rows_are_quarantined_with_reasons_and_counts_reconcile(write_csv, admin_user):
    content = twcs_csv(
        twcs_row(0, 100, "cust1", "True", "my fibre is down"),
        "1,101,cust2,True,not a date,hello,,\n",
        "2,,cust3,True,Tue Oct 31 10:00:00 +0000 2017,no id,,\n",
        '3,103,cust4,True,Tue Oct 31 10:00:00 +0000 2017,"broken "quote,,\n',
        "4,104,cust5,True,Tue Oct 31 10:00:00 +0000 2017,too,many,fields,here\n",
        twcs_row(5, 105, "cust6", "maybe", "inbound?"),
        twcs_row(6, 106, "cust7", "True", "second good row"),
    )
    job = ingest(write_csv("bad.csv", content))
    reasons = {q.row: q.reason for q in QuarantinedRow.objects(job=job.id)}
    assert set(reasons) == {1, 2, 3, 4, 5}
    assert reasons[1].startswith("bad created_at: expected a date like")
    assert reasons[2] == "missing tweet_id"
    assert "quot" in reasons[3]
    assert reasons[4] == "expected 8 fields, found 9"
    assert reasons[5] == "bad inbound: neither True nor False"
    assert QuarantinedRow.objects.get(job=job.id, row=3).raw_text.startswith("3,103,cust4")
    counters = job.counters
    assert counters.rows_read == 7 == counters.tweets_created + counters.quarantined
    assert RawRow.objects(job=job.id).count() == 7  # stored before parsing, bad ones too
    assert job.quarantine_reasons == {"bad created_at": 1, "missing tweet_id": 1, "broken quoting or field": 1,
                                      "expected 8 fields, found 9": 1, "bad inbound": 1}
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/admin/mongo/ingest-jobs/{job.id}/").content.decode()
    assert "missing tweet_id" in page and "expected 8 fields, found 9" in page


def test_latin1_file_is_ingested_with_its_accents(write_csv):
    content = "tweet_id,author,text,date,url\n1,client1,débit très instable à paris,2021-05-14 10:56:22+00:00,u\n"
    job = ingest(write_csv("latin1.csv", content.encode("latin-1")))
    assert job.counters.quarantined == 0
    assert Tweet.objects.get(id="free_fr:1").text == "débit très instable à paris"
