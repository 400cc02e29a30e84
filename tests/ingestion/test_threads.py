"""Threads and duplicates (ingestion/threads.py) across chunks and files: a late parent, a
pending reply, repeats within a day and weeks apart."""

import pytest
from django.core.management import call_command

from ingestion import threads
from ingestion.models import IngestJob, PendingReply, Tweet
from tests.helpers import twcs_csv, twcs_row
from tickets.models import Ticket


def ingest(path):
    call_command("ingest", str(path), "--no-progress")
    return IngestJob.objects.order_by("-created_at").first()






def test_reply_before_its_parent_across_chunks_is_merged(write_csv, settings):
    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(chunk_rows=2)
    content = twcs_csv(
        twcs_row(0, 3, "cust", "True", "still nothing", reply_to="2.0", minute=3),
        twcs_row(1, 9, "other", "True", "unrelated question", minute=1),
        twcs_row(2, 2, "Brand", "False", "please DM us", responses="3", reply_to="1.0", minute=2),
        twcs_row(3, 1, "cust", "True", "my internet is down", responses="2", minute=1),
    )
    job = ingest(write_csv("order.csv", content))
    ticket = Ticket.objects.get(id="twcs:1")
    assert ticket.tweet_ids == ["twcs:1", "twcs:2", "twcs:3"]
    assert {t.conversation_id for t in Tweet.objects(id__in=["twcs:1", "twcs:2", "twcs:3"])} == {"twcs:1"}
    assert job.counters.conversations_merged >= 1
    assert Ticket.objects(status__ne="merged").count() == 2  # twcs:1 and twcs:9
    assert PendingReply.objects.count() == 0


def test_parent_arriving_in_a_later_file_absorbs_the_provisional_ticket(write_csv):
    ingest(write_csv("replies.csv", twcs_csv(twcs_row(0, 21, "cust", "True", "any news?", reply_to="20", minute=5))))
    assert Ticket.objects.get(id="twcs:21").status == "new"
    assert PendingReply.objects.get(id="twcs:21").parent == "twcs:20"
    ingest(write_csv("roots.csv", twcs_csv(twcs_row(0, 20, "cust", "True", "no signal at home", minute=1))))
    merged = Ticket.objects.get(id="twcs:21")
    assert merged.status == "merged" and merged.merged_into == "twcs:20"
    assert Ticket.objects.get(id="twcs:20").tweet_ids == ["twcs:20", "twcs:21"]


@pytest.mark.parametrize(("second", "kind"), [
    ("my box has been offline since monday and nobody helps", "exact"),
    ("My box has been OFFLINE since Monday... and nobody helps!! https://t.co/x", "near"),
])
def test_duplicates_are_marked_kept_and_make_no_second_ticket(write_csv, second, kind):
    first = "my box has been offline since monday and nobody helps"
    content = twcs_csv(twcs_row(0, 1, "cust", "True", first), twcs_row(1, 2, "cust", "True", second, minute=9))
    job = ingest(write_csv("dup.csv", content))
    duplicate = Tweet.objects.get(id="twcs:2")
    assert duplicate.is_duplicate and duplicate.duplicate_of == "twcs:1" and duplicate.duplicate_kind == kind
    assert job.counters.duplicates == 1
    assert [t.id for t in Ticket.objects] == ["twcs:1"]


def test_duplicate_of_a_tweet_from_an_earlier_file_is_found(write_csv):
    text = "third outage this week in lyon, when will the network be fixed"
    ingest(write_csv("a.csv", twcs_csv(twcs_row(0, 1, "cust", "True", text))))
    ingest(write_csv("b.csv", twcs_csv(twcs_row(0, 2, "someone", "True", text.upper()))))
    assert Tweet.objects.get(id="twcs:2").duplicate_of == "twcs:1"
    assert Ticket.objects.count() == 1


def test_short_identical_texts_from_different_customers_are_not_duplicates(write_csv):
    content = twcs_csv(twcs_row(0, 1, "c1", "True", "@brand help"), twcs_row(1, 2, "c2", "True", "@brand help"))
    ingest(write_csv("short.csv", content))
    assert Tweet.objects(is_duplicate=True).count() == 0
    assert Ticket.objects.count() == 2


def test_a_repeat_is_a_duplicate_within_a_day_and_a_new_request_weeks_later(write_csv):
    """The same customer writing "still no internet" twice in an afternoon is one request;
    three weeks later it is a new conversation with its own ticket (and its own repeats)."""
    rows = [(1, "Tue Oct 31 10:00:00 +0000 2017"), (2, "Tue Oct 31 15:00:00 +0000 2017"),
            (3, "Tue Nov 21 09:00:00 +0000 2017"), (4, "Tue Nov 21 11:00:00 +0000 2017")]
    content = twcs_csv(*(twcs_row(n, tweet_id, "cust", "True", "still no internet", created=created)
                         for n, (tweet_id, created) in enumerate(rows)))
    ingest(write_csv("repeats.csv", content))
    marks = {t.id: t.duplicate_of for t in Tweet.objects}
    assert marks == {"twcs:1": None, "twcs:2": "twcs:1", "twcs:3": None, "twcs:4": "twcs:3"}
    assert sorted(t.id for t in Ticket.objects) == ["twcs:1", "twcs:3"]


def test_a_repeat_weeks_later_in_another_file_is_a_new_request(write_csv):
    ingest(write_csv("a.csv", twcs_csv(twcs_row(0, 1, "cust", "True", "still no internet"))))
    ingest(write_csv("b.csv", twcs_csv(twcs_row(0, 2, "cust", "True", "Still no internet!",
                                                created="Mon Dec 18 08:00:00 +0000 2017"))))
    assert not Tweet.objects.get(id="twcs:2").is_duplicate
    assert sorted(t.id for t in Ticket.objects) == ["twcs:1", "twcs:2"]


def test_fingerprints_are_forgotten_after_a_month(write_csv):
    from ingestion.models import TextFingerprint

    ingest(write_csv("a.csv", twcs_csv(twcs_row(0, 1, "cust", "True", "still no internet"))))
    ttl = [index for index in TextFingerprint._get_collection().list_indexes() if "expireAfterSeconds" in index]
    assert [(dict(index["key"]), index["expireAfterSeconds"]) for index in ttl] == [({"stored_at": 1}, 30 * 86400)]
    assert TextFingerprint.objects.get().stored_at is not None


def test_reply_left_pending_by_a_concurrent_writer_is_adopted_when_a_job_ends(write_csv):
    """A job's resolver only knows the replies pending when it started: the end-of-job pass catches the rest."""
    from ingestion import services

    job = services.create_file_job(path=write_csv("root.csv", twcs_csv(
        twcs_row(0, 30, "cust", "True", "router keeps rebooting", minute=1))))
    resolver_started = threads.ConversationResolver.for_large_job  # snapshot taken before the reply exists

    def resolver_that_started_earlier():
        resolver = resolver_started()
        services.ingest_records(records=[{  # a stream request arrives meanwhile: a reply to tweet 30
            "tweet_id": "31", "author_id": "cust", "inbound": "True", "created_at": "Tue Oct 31 10:09:00 +0000 2017",
            "text": "hello??", "response_tweet_id": "", "in_response_to_tweet_id": "30"}])
        return resolver

    threads.ConversationResolver.for_large_job = staticmethod(resolver_that_started_earlier)
    try:
        services.run_job(job_id=job.id)
    finally:
        threads.ConversationResolver.for_large_job = resolver_started
    assert Ticket.objects.get(id="twcs:30").tweet_ids == ["twcs:30", "twcs:31"]
    assert Ticket.objects.get(id="twcs:31").status == "merged"
    assert PendingReply.objects.count() == 0
