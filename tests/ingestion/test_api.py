"""The stream endpoint (ingestion/api.py, DRF, token), end to end."""

import json

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from dallosh import tokens
from ingestion.models import IngestJob, RawRow, Tweet
from tickets.models import Ticket

STREAM = "/api/v1/ingest/stream"
TWEETS = [
    {"tweet_id": "500", "author_id": "cust9", "inbound": True, "created_at": "Tue Oct 31 10:00:00 +0000 2017",
     "text": "@brand no internet since this morning", "response_tweet_id": "501", "in_response_to_tweet_id": None},
    {"tweet_id": "501", "author_id": "brand", "inbound": False, "created_at": "Tue Oct 31 10:05:00 +0000 2017",
     "text": "@cust9 sorry, checking", "response_tweet_id": "", "in_response_to_tweet_id": 500.0},
]



def test_stream_requires_a_token_of_an_ingest_account(db):
    assert APIClient().post(STREAM, TWEETS, format="json").status_code == 401
    outsider = APIClient()
    outsider.credentials(HTTP_AUTHORIZATION=f"Token {tokens.create_token(User.objects.create_user('x'))}")
    assert outsider.post(STREAM, TWEETS, format="json").status_code == 403
    assert Tweet.objects.count() == 0


def test_stream_json_array_becomes_a_ticket_and_a_retry_stores_nothing_twice(ingest_client):
    answer = ingest_client.post(STREAM, TWEETS, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["status"] == "completed" and body["counters"]["tickets_created"] == 1
    assert Ticket.objects.get(id="twcs:500").tweet_ids == ["twcs:500", "twcs:501"]
    retry = ingest_client.post(STREAM, TWEETS, format="json")
    assert retry.json()["id"] == body["id"]
    assert Tweet.objects.count() == 2 and RawRow.objects.count() == 2 and IngestJob.objects.count() == 1


def test_stream_ndjson_reply_joins_an_existing_conversation(ingest_client):
    ingest_client.post(STREAM, TWEETS, format="json")
    reply = {**TWEETS[0], "tweet_id": "502", "text": "@brand still down!!", "created_at":
             "Tue Oct 31 11:00:00 +0000 2017", "in_response_to_tweet_id": "501", "response_tweet_id": ""}
    answer = ingest_client.post(STREAM, data=json.dumps(reply) + "\n", content_type="application/x-ndjson")
    assert answer.status_code == 201, answer.content
    ticket = Ticket.objects.get(id="twcs:500")
    assert ticket.tweet_ids == ["twcs:500", "twcs:501", "twcs:502"] and ticket.customer_tweet_count == 2


def test_stream_rejects_bad_payloads_clearly(ingest_client):
    malformed = ingest_client.post(STREAM, data="[{not json", content_type="application/json")
    assert malformed.status_code == 400
    bad_line = ingest_client.post(STREAM, data=json.dumps(TWEETS[0]) + "\n{oops\n",
                                  content_type="application/x-ndjson")
    assert bad_line.status_code == 400 and "NDJSON line 2" in bad_line.json()["error"]
    unknown = ingest_client.post(STREAM, [{"id": 1, "message": "hi"}], format="json")
    assert unknown.status_code == 400 and "expected one of" not in unknown.json()["error"]
    bad_date = ingest_client.post(STREAM, [{**TWEETS[0], "created_at": "yesterday"}], format="json")
    assert bad_date.status_code == 201 and bad_date.json()["counters"]["quarantined"] == 1
    assert Tweet.objects.count() == 0


def test_a_json_client_is_told_which_fields_its_tweets_need_never_about_columns(ingest_client):
    unknown = ingest_client.post(STREAM, [{"id": 1, "message": "hi"}], format="json")
    message = unknown.json()["error"]
    assert unknown.status_code == 400, message
    assert "the tweets' fields are [id, message]" in message
    assert "twcs (Customer Support on Twitter): tweet_id, author_id, inbound, created_at, text" in message
    assert "free_fr (French operator (Free)): tweet_id, author, text, date, url" in message
    both = ingest_client.post(STREAM, [{**TWEETS[0], "author": "x", "date": "y", "url": "z"}], format="json")
    assert both.status_code == 400 and "fields of several formats (twcs, free_fr)" in both.json()["error"]
    lacking = ingest_client.post(f"{STREAM}?format=twcs", [TWEETS[0], {"tweet_id": "9", "text": "hi"}],
                                 format="json")
    assert lacking.status_code == 400
    assert "tweet 2 lacks the fields author_id, inbound, created_at" in lacking.json()["error"]
    for answer in (unknown, both, lacking):
        assert "column" not in answer.json()["error"] and "header" not in answer.json()["error"]






@pytest.mark.django_db(transaction=True)  # the two requests run on threads of their own
def test_two_identical_stream_requests_at_once_get_the_same_job(ingest_client):
    """A client retrying after a timeout sends the same body while the first is in flight:
    every answer names one job (done, or 202 while another call ingests it), none is a 500,
    and nothing is stored twice."""
    import threading

    from django.db import connections

    token = ingest_client._credentials["HTTP_AUTHORIZATION"]
    start, answers = threading.Barrier(4), []

    def send():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=token)
        start.wait()
        answers.append(client.post(STREAM, TWEETS, format="json"))
        connections.close_all()

    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
    assert len(answers) == 4 and {a.status_code for a in answers} <= {201, 202}, [a.content for a in answers]
    assert 201 in {a.status_code for a in answers}
    assert len({a.json()["id"] for a in answers}) == 1
    assert IngestJob.objects.count() == 1 and Tweet.objects.count() == 2 and RawRow.objects.count() == 2


