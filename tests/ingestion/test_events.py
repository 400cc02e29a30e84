"""What ingestion announces and the one step it hands up (ingestion/events.py): the stages
above hear of each tweet newly stored, once, and a failing listener never undoes the write;
the tickets of a chunk are derived by the one function the tickets stage registered, whose
answer the job counts, and with none registered the chunk is refused with the fix named.
Through the real stream ingestion on the MongoDB-protocol server."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from ingestion import events
from ingestion.models import IngestJob, Tweet
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets.models import Ticket


@pytest.fixture
def heard():
    """The tweet ids each tweets_stored announcement carried, one list per announcement."""
    announcements = []

    def listen(sender, tweets, **_):
        announcements.append(sorted(tweet["_id"] for tweet in tweets))

    events.tweets_stored.connect(listen, dispatch_uid="test-heard")
    yield announcements
    events.tweets_stored.disconnect(dispatch_uid="test-heard")


def test_each_tweet_newly_stored_is_announced_once(heard):
    ingest_records(records=[twcs_record(1, "no signal"), twcs_record(2, "fibre down")], source="twcs")
    ingest_records(records=[twcs_record(2, "fibre down"), twcs_record(3, "bill wrong")], source="twcs")
    assert heard == [["twcs:1", "twcs:2"], ["twcs:3"]]  # tweet 2 was known the second time


def test_a_failing_listener_neither_stops_the_others_nor_undoes_the_write(heard):
    def broken(**_):
        raise RuntimeError("the dashboard is down")

    events.tweets_stored.connect(broken, dispatch_uid="test-broken")
    try:
        job = ingest_records(records=[twcs_record(7, "internet down")], source="twcs")
    finally:
        events.tweets_stored.disconnect(dispatch_uid="test-broken")
    assert job.status == "completed" and heard == [["twcs:7"]]
    assert Tweet.objects(id="twcs:7").count() == 1 and Ticket.objects(tweet_ids="twcs:7").count() == 1


def test_the_registered_deriver_is_called_with_the_chunk_and_its_answer_counts(monkeypatch):
    monkeypatch.setattr(events, "_ticket_deriver", [])  # restored after the test: the tickets app's again
    calls = []

    def deriver(*, chunk_tweets, rebuild, merges, now):
        calls.append(sorted(tweet["_id"] for tweet in chunk_tweets))
        return 5, 7

    events.derive_tickets_with(deriver)
    job = ingest_records(records=[twcs_record(1, "no signal"), twcs_record(2, "fibre down")], source="twcs")
    assert calls == [["twcs:1", "twcs:2"]]
    assert (job.counters.tickets_created, job.counters.tickets_updated) == (5, 7)


def test_without_a_registered_deriver_the_chunk_fails_naming_the_fix(monkeypatch):
    monkeypatch.setattr(events, "_ticket_deriver", [])
    with pytest.raises(ImproperlyConfigured, match="the tickets app registers one in its ready"):
        ingest_records(records=[twcs_record(1, "no signal")], source="twcs")
    job = IngestJob.objects.get()
    assert job.status == "failed" and job.error == (
        "ImproperlyConfigured: no ticket deriver: the tickets app registers one in its ready()")
