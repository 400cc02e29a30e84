"""The pipeline's bulk MongoDB helpers (dallosh/bulk.py), on the real server: lookups of any
number of keys (sent in slices), inserts that skip what exists already (what makes re-ingest
idempotent), scans one day at a time from the first day that holds a document, and a
rollup's recount repeated until it settles."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import BulkWriteError

from dallosh import bulk, mongo


@pytest.fixture
def scratch():
    """Collections of this test's own, dropped afterwards."""
    made = []

    def collection(name: str, **options):
        mongo.database().drop_collection(f"test_bulk_{name}")
        made.append(mongo.database().create_collection(f"test_bulk_{name}", **options))
        return made[-1]

    yield collection
    for collection in made:
        collection.drop()


def test_a_lookup_of_many_values_finds_each_document_once(scratch):
    tweets = scratch("tweets")
    tweets.insert_many([{"_id": n, "conversation": f"twcs:{n // 2}"} for n in range(500)])  # 250 conversations
    wanted = [f"twcs:{n}" for n in range(300)] * 2 + [None]  # 50 of them absent, each asked twice, and None
    found = bulk.find_by_values(tweets, "conversation", wanted, {"_id": 1})
    assert sorted(doc["_id"] for doc in found) == list(range(500))
    assert bulk.find_by_values(tweets, "conversation", []) == []


def test_inserting_again_skips_the_documents_that_exist_and_names_them(scratch):
    tweets = scratch("tweets")
    assert bulk.insert_new(tweets, [{"_id": "twcs:1", "text": "first"}, {"_id": "twcs:2", "text": "second"}]) == set()
    skipped = bulk.insert_new(tweets, [{"_id": "twcs:2", "text": "again"}, {"_id": "twcs:3", "text": "third"},
                                       {"_id": "twcs:1", "text": "again"}])
    assert skipped == {"twcs:1", "twcs:2"}
    assert {doc["_id"]: doc["text"] for doc in tweets.find()} == {"twcs:1": "first", "twcs:2": "second",
                                                                    "twcs:3": "third"}
    assert bulk.insert_new(tweets, []) == set()


def test_a_write_refused_for_another_reason_than_an_existing_id_is_raised(scratch):
    tweets = scratch("tweets", validator={"$jsonSchema": {"bsonType": "object", "required": ["text"]}})
    tweets.insert_one({"_id": "twcs:1", "text": "first"})
    with pytest.raises(BulkWriteError):
        bulk.insert_new(tweets, [{"_id": "twcs:1", "text": "again"}, {"_id": "twcs:2"}])  # no text
    assert tweets.count_documents({}) == 1


def test_busy_days_are_the_days_some_source_holds_from_midnight_to_midnight():
    tickets = [datetime(2017, 10, 30, 15, 42, tzinfo=UTC), datetime(2017, 10, 30, 23, 0, tzinfo=UTC),
               datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    buckets = [datetime(2017, 11, 2, tzinfo=UTC)]

    def first_of(moments):
        return lambda since: min((m for m in moments if m >= since), default=None)

    days = list(bulk.busy_day_ranges(field="created_at", firsts=[first_of(tickets), first_of(buckets)],
                                     until=datetime(2026, 12, 2, tzinfo=UTC)))
    midnights = [datetime(2017, 10, 30, tzinfo=UTC), datetime(2017, 11, 2, tzinfo=UTC),
                 datetime(2026, 12, 1, tzinfo=UTC)]  # nine years of empty days between, never read
    assert days == [{"created_at": {"$gte": day, "$lt": day + timedelta(days=1)}} for day in midnights]
    assert list(bulk.busy_day_ranges(field="created_at", firsts=[first_of(tickets)],
                                     until=datetime(2017, 10, 30, 12, tzinfo=UTC))) == [
        {"created_at": {"$gte": midnights[0], "$lt": midnights[0] + timedelta(days=1)}}]  # until cuts


def test_a_scan_by_day_reads_every_document_from_the_first_day_that_holds_one(scratch):
    tweets = scratch("tweets")
    assert list(bulk.scan_by_day(tweets, field="created_at", projection={"_id": 1})) == []
    moments = {"a": datetime(2017, 10, 30, 0, 0, tzinfo=UTC), "b": datetime(2017, 10, 30, 23, 59, 59, tzinfo=UTC),
               "c": datetime(2017, 11, 2, 12, tzinfo=UTC), "d": datetime(2017, 11, 5, 8, tzinfo=UTC)}
    tweets.insert_many([{"_id": key, "created_at": moment} for key, moment in moments.items()])
    scanned = list(bulk.scan_by_day(tweets, field="created_at", projection={"_id": 1},
                                    until=datetime(2017, 11, 3, tzinfo=UTC)))
    assert [doc["_id"] for doc in scanned] == ["a", "b", "c"]  # in day order; the 5th is past `until`


def test_the_earliest_moment_over_collections_is_aware_utc_and_never_before_twitter(scratch):
    tweets, mails = scratch("tweets"), scratch("mails")
    assert bulk.earliest([tweets, mails], field="created_at") is None
    tweets.insert_many([{"created_at": datetime(2017, 10, 31, 10)}, {"created_at": None}])
    mails.insert_one({"created_at": datetime(2017, 10, 29, 8, 30)})
    assert bulk.earliest([tweets, mails], field="created_at") == datetime(2017, 10, 29, 8, 30, tzinfo=UTC)
    mails.insert_one({"created_at": datetime(1999, 1, 1)})  # a date no message can carry
    assert bulk.earliest([tweets, mails], field="created_at") == datetime(2006, 1, 1, tzinfo=UTC)


def test_a_recount_is_done_again_until_it_verifies_with_no_write_landing_meanwhile(scratch, caplog):
    rollups = scratch("rollups")
    window = {"day": {"$gte": datetime(2017, 10, 31, tzinfo=UTC), "$lt": datetime(2017, 11, 1, tzinfo=UTC)}}
    rollups.insert_one({"day": datetime(2017, 10, 31, 6, tzinfo=UTC), "updated_at": datetime.now(UTC)})
    assert bulk.written_lately(rollups, window)
    assert not bulk.written_lately(rollups, window, within=timedelta(microseconds=0))

    passes = iter([(False, 3), (True, 4), (True, 5)])
    assert bulk.recount_until_settled(window, recount=lambda: next(passes), written_lately=lambda _: False,
                                      what="KPIs") == 4
    assert bulk.recount_until_settled(window, recount=lambda: None, written_lately=lambda _: False, what="KPIs") == 0
    with caplog.at_level(logging.WARNING, logger="dallosh.bulk"):
        kept = bulk.recount_until_settled(window, recount=lambda: (True, 7), written_lately=lambda _: True,
                                          what="KPIs", attempts=3)
    assert kept == 7
    assert "KPIs of 2017-10-31 00:00:00+00:00 kept changing during the rebuild" in caplog.text
