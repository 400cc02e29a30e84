"""The CLI door on the shared data, through the real MongoDB-protocol server."""

import csv
import shutil

import pytest
from django.core.management import CommandError, call_command

from ingestion.models import IngestJob, JobStatus, RawRow, Tweet
from tickets.models import Ticket


def ingest(path, **options):
    call_command("ingest", str(path), "--no-progress", **options)
    return IngestJob.objects.order_by("-created_at").first()


def test_twcs_sample_is_stored_raw_parsed_and_threaded(shared_data):
    job = ingest(shared_data / "twcs_sample.csv")
    assert job.status == JobStatus.COMPLETED
    assert job.counters.rows_read == 5000 and job.counters.quarantined == 0
    assert RawRow.objects.count() == 5000 and Tweet.objects.count() == 5000
    # Raw rows keep the original columns and values, the unnamed index included.
    raw = RawRow.objects.get(id=f"{job.content_hash}:6")
    assert job.columns[0] == "" and raw.values == ["6", "8", "115712", "True", "Tue Oct 31 21:45:10 +0000 2017",
                                                   "@sprintcare is the worst customer service", "9,6,10", ""]
    tweet = Tweet.objects.get(id="twcs:8")
    assert tweet.response_ids == ["9", "6", "10"] and tweet.reply_to is None
    assert Tweet.objects.get(id="twcs:1").reply_to == "twcs:3"  # "3.0" in the file
    assert "\r\r" in Tweet.objects.get(id="twcs:3399").text


def test_reply_chain_of_tweet_8_becomes_one_ticket_in_order(shared_data):
    ingest(shared_data / "twcs_sample.csv")
    # In the file: 6 replies to 8, 5 to 6, 4 to 5, 3 to 4, 1 to 3, 2 to 1 (brand: 6, 4, 1).
    ticket = Ticket.objects.get(id="twcs:8")
    assert ticket.tweet_ids == ["twcs:8", "twcs:6", "twcs:5", "twcs:4", "twcs:3", "twcs:1", "twcs:2"]
    assert ticket.customer == "115712" and ticket.language == "en" and ticket.status == "new"
    assert ticket.customer_tweet_count == 4 and ticket.brand_reply_count == 3
    assert ticket.first_brand_reply_at.strftime("%H:%M:%S") == "21:46:24"
    assert {t.conversation_id for t in Tweet.objects(id__in=ticket.tweet_ids)} == {"twcs:8"}


def test_every_customer_conversation_of_the_sample_is_one_ticket(shared_data):
    ingest(shared_data / "twcs_sample.csv")
    with (shared_data / "twcs_sample.csv").open("rb") as raw:
        rows = list(csv.DictReader(line.decode().replace("\r", " ") for line in raw))
    parent = {r["tweet_id"]: r["in_response_to_tweet_id"].split(".")[0] for r in rows}

    def root(tweet_id):
        while parent.get(tweet_id) in parent:
            tweet_id = parent[tweet_id]
        return tweet_id

    customer_roots = {root(r["tweet_id"]) for r in rows if r["inbound"] == "True"}
    tickets = {t.id for t in Ticket.objects.only("id")}
    # Conversations whose only customer tweets are duplicates make no ticket (4 duplicates in the sample).
    assert tickets <= {f"twcs:{r}" for r in customer_roots}
    assert len(customer_roots) - 4 <= len(tickets) <= len(customer_roots)
    assert Ticket.objects(customer__in=["sprintcare", "AppleSupport", "AmazonHelp"]).count() == 0


def test_french_feed_marks_brand_posts_and_retweets(shared_data):
    job = ingest(shared_data / "free_tweets_fr.csv")
    with (shared_data / "free_tweets_fr.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    brand_rows = [r for r in rows if r["author"] in ("Freebox", "free")]
    retweets = [r for r in rows if r["text"].startswith("rt :")]
    assert job.format == "free_fr" and job.counters.quarantined == 0
    assert job.counters.brand_posts == len(brand_rows) == 707
    assert job.counters.retweets == len(retweets)
    assert Ticket.objects(customer__in=["Freebox", "free"]).count() == 0
    customer_tweets = len([r for r in rows if r not in brand_rows and not r["text"].startswith("rt :")])
    assert customer_tweets - job.counters.duplicates == Ticket.objects.count()
    french = Tweet.objects(language="fr").count()
    assert french / len(rows) > 0.95
    first = Tweet.objects.get(id="free_fr:000001")
    assert "nnfree" in first.text and " free en france" in first.clean_text


def test_reingesting_the_same_file_stores_nothing_twice(shared_data, tmp_path, capsys):
    first = ingest(shared_data / "twcs_sample.csv")
    tickets = Ticket.objects.count()
    copy = tmp_path / "renamed.csv"
    shutil.copy(shared_data / "twcs_sample.csv", copy)
    call_command("ingest", str(copy), "--no-progress")
    assert "already ingested" in capsys.readouterr().out
    assert IngestJob.objects.count() == 1 and IngestJob.objects.get().id == first.id
    assert RawRow.objects.count() == 5000 and Tweet.objects.count() == 5000 and Ticket.objects.count() == tickets


def test_same_tweets_under_another_file_make_no_duplicate_tweet_or_ticket(shared_data, write_csv):
    ingest(shared_data / "twcs_sample.csv")
    tickets = Ticket.objects.count()
    lines = (shared_data / "twcs_sample.csv").read_bytes().split(b"\n")
    subset = write_csv("subset.csv", b"\n".join(lines[:200]) + b"\n")
    job = ingest(subset)
    assert job.counters.tweets_created == 0 and job.counters.tweets_already_known == job.counters.rows_read
    assert Tweet.objects.count() == 5000 and Ticket.objects.count() == tickets


def test_unknown_format_and_empty_file_are_refused_clearly(write_csv, shared_data):
    with pytest.raises(CommandError, match=r"unknown CSV format.*expected one of: twcs.*tweet_id, author_id"):
        ingest(write_csv("other.csv", "id,message,when\n1,hello,today\n"))
    with pytest.raises(CommandError, match="not in the twcs format, whose columns are tweet_id, author_id"):
        ingest(shared_data / "free_tweets_fr.csv", format_name="twcs")
    with pytest.raises(CommandError, match="empty"):
        ingest(write_csv("empty.csv", ""))
    assert IngestJob.objects.count() == 0
