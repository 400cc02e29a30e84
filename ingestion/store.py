"""The stored tweets and the quarantined rows, owned here: every read and write of those
collections goes through these functions (pipeline, threads, services, and the stages
above), each on an index, in the shapes the callers name."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import MappingProxyType

from dallosh.bulk import earliest, find_by_values, insert_new
from dallosh.vocabulary import EMAIL
from ingestion.models import QuarantinedRow, Tweet

CONVERSATION = MappingProxyType({"conversation_id": 1})  # where a tweet belongs
# What the model reads of a conversation: the customer's own words (ingestion.selectors.customer_words).
MODEL_TEXT = MappingProxyType({"clean_text": 1, "text": 1, "is_brand": 1, "is_retweet": 1, "is_duplicate": 1,
                               "is_automated": 1, "created_at": 1, "conversation_id": 1, "mail.subject": 1})
# What a person reads of it on the ticket page: every message as written and as cleaned,
# with an e-mail's own fields.
READING = MappingProxyType({"author": 1, "is_brand": 1, "created_at": 1, "text": 1, "clean_text": 1, "language": 1,
                            "is_retweet": 1, "is_duplicate": 1, "is_automated": 1, "reply_to": 1, "tweet_id": 1,
                            "channel": 1, "mail": 1, "call": 1})


def _tweets():
    return Tweet._get_collection()


def insert_new_tweets(documents: list[dict]) -> set[str]:
    """Store the tweets not stored yet (a replay stores nothing twice); returns the ids that were."""
    return insert_new(_tweets(), documents)


def tweets_by_ids(tweet_ids: Iterable[str], *, projection: dict) -> list[dict]:
    """Stored tweets by id (point lookups in slices); missing ids are left out."""
    return find_by_values(_tweets(), "_id", tweet_ids, dict(projection))


def tweets_of_conversations(conversation_ids: Iterable[str], *, projection: dict) -> list[dict]:
    """Every stored tweet of these conversations (on the conversation_id index)."""
    return find_by_values(_tweets(), "conversation_id", conversation_ids, dict(projection))


def tweets_created_in(window: dict, *, projection: dict) -> list[dict]:
    """The tweets written in a created_at window (on the created_at index)."""
    return list(_tweets().find(window, dict(projection)))


def mails_of_sender(sender: str, *, since: datetime, until: datetime) -> list[dict]:
    """One sender's e-mails written in a window, newest first (on the author/created_at index)."""
    return list(_tweets().find({"author": sender, "created_at": {"$gte": since, "$lte": until}, "channel": EMAIL},
                               {"tweet_id": 1, "mail.subject": 1, "created_at": 1}).sort("created_at", -1).limit(200))


def first_tweet_created(since: datetime | None = None) -> datetime | None:
    """When the oldest stored tweet (at or after `since`) was written, None when there is none."""
    return earliest([_tweets()], field="created_at", since=since)


def move_conversation(*, absorbed: str, into: str) -> None:
    """Every tweet of the absorbed conversation now belongs to `into` (a late parent arrived)."""
    _tweets().update_many({"conversation_id": absorbed}, {"$set": {"conversation_id": into}})


def quarantine_rows(documents: list[dict]) -> None:
    """Keep the rows refused (once each: their ids are the file's hash and row number)."""
    insert_new(QuarantinedRow._get_collection(), documents)


def count_quarantined(*, start: datetime | None, end: datetime) -> int:
    """Rows quarantined in [start, end), on the `at` index."""
    query = {"at": {"$gte": start, "$lt": end}} if start else {"at": {"$lt": end}}
    return QuarantinedRow._get_collection().count_documents(query)
