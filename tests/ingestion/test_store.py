"""The tweets' store: replays store nothing twice, lookups leave out what is not there, a
late parent moves a whole conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingestion import store


def tweet(number: int, *, conversation: str, day: int = 1) -> dict:
    return {"_id": f"twcs:{number}", "source": "twcs", "tweet_id": str(number), "author": f"cust{number}",
            "created_at": datetime(2017, 10, day, 10, tzinfo=UTC), "text": f"no signal {number}",
            "conversation_id": conversation}


def test_a_replayed_tweet_is_stored_once_and_said_to_be_known():
    assert store.insert_new_tweets([tweet(1, conversation="twcs:1")]) == set()
    assert store.insert_new_tweets([tweet(1, conversation="twcs:1"), tweet(2, conversation="twcs:1")]) == {"twcs:1"}
    assert sorted(t["_id"] for t in store.tweets_of_conversations(["twcs:1"], projection={"_id": 1})) == [
        "twcs:1", "twcs:2"]


def test_lookups_leave_out_missing_tweets_and_read_the_shape_asked_for():
    store.insert_new_tweets([tweet(1, conversation="twcs:1", day=3), tweet(2, conversation="twcs:2", day=2)])
    found = store.tweets_by_ids(["twcs:2", "twcs:404"], projection=store.CONVERSATION)
    assert found == [{"_id": "twcs:2", "conversation_id": "twcs:2"}]
    assert store.first_tweet_created() == datetime(2017, 10, 2, 10, tzinfo=UTC)
    window = {"created_at": {"$gte": datetime(2017, 10, 3, tzinfo=UTC), "$lt": datetime(2017, 10, 4, tzinfo=UTC)}}
    assert [t["_id"] for t in store.tweets_created_in(window, projection={"_id": 1})] == ["twcs:1"]


def test_a_conversation_moves_whole_into_another():
    store.insert_new_tweets([tweet(5, conversation="twcs:5"), tweet(6, conversation="twcs:5"),
                             tweet(9, conversation="twcs:9")])
    store.move_conversation(absorbed="twcs:5", into="twcs:9")
    assert sorted(t["_id"] for t in store.tweets_of_conversations(["twcs:9"], projection={"_id": 1})) == [
        "twcs:5", "twcs:6", "twcs:9"]
    assert store.tweets_of_conversations(["twcs:5"], projection={"_id": 1}) == []
    assert store.first_tweet_created() is not None


def test_a_quarantined_row_is_kept_once_and_counted_by_when_it_was_read():
    read_at = datetime(2026, 12, 3, 9, tzinfo=UTC)
    row = {"_id": "hash:7", "job": None, "row": 7, "line": 8, "reason": "missing column: text", "raw_text": "x,",
           "at": read_at}
    store.quarantine_rows([row])
    store.quarantine_rows([row, {**row, "_id": "hash:8", "row": 8, "at": read_at + timedelta(days=1)}])
    assert store.count_quarantined(start=None, end=read_at + timedelta(days=2)) == 2
    assert store.count_quarantined(start=read_at, end=read_at + timedelta(hours=1)) == 1
    assert store.count_quarantined(start=read_at + timedelta(hours=1), end=read_at + timedelta(days=2)) == 1
