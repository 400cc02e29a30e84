"""The CSV formats (ingestion/formats.py): a file's format found by its header, with a clear
refusal in the reader's language when it matches none (or several), and each adapter turning
raw string columns into canonical tweets while naming every row it rejects and why. Pure
pandas: no server."""

from datetime import UTC, datetime

import pandas as pd
import pytest
from django.utils import translation

from ingestion.formats import (
    FreeOperatorFormat,
    TwcsFormat,
    UnknownFormat,
    detect_format,
    detect_tweet_format,
    format_by_name,
)

pytestmark = pytest.mark.no_servers

TWCS = ["tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id", "in_response_to_tweet_id"]
FREE = ["tweet_id", "author", "text", "date", "url"]


def frame(columns: list[str], *rows: list[str]) -> pd.DataFrame:
    """A chunk as the pipeline hands it to an adapter: string columns and each row's number."""
    chunk = pd.DataFrame([list(row) for row in rows], columns=columns, dtype=object).astype(str)
    chunk["row"] = list(range(len(rows)))
    return chunk


def test_a_header_is_recognised_by_its_columns_even_with_an_extra_one():
    assert detect_format(["", *TWCS]).name == "twcs"  # pandas' unnamed index column is no column
    assert detect_format([*FREE, "country"]).name == "free_fr"


def test_a_header_matching_no_format_names_what_each_format_expects_in_english_and_french():
    with translation.override("en"), pytest.raises(UnknownFormat) as english:
        detect_format(["id", "body"])
    assert str(english.value).startswith("unknown CSV format: the columns are [id, body]; expected one of: ")
    assert "twcs (Customer Support on Twitter): tweet_id, author_id, inbound" in str(english.value)
    assert "free_fr (French operator (Free)): tweet_id, author, text, date, url" in str(english.value)
    with translation.override("fr"), pytest.raises(UnknownFormat) as french:
        detect_format(["id", "body"])
    assert str(french.value).startswith("format CSV inconnu : les colonnes sont [id, body] ; attendu l'un de : ")


def test_a_repeated_column_or_the_columns_of_two_formats_are_refused_not_guessed():
    with translation.override("en"):
        with pytest.raises(UnknownFormat, match=r"^the header repeats column\(s\) text: which one holds the data\?$"):
            detect_format([*TWCS, "text"])
        with pytest.raises(UnknownFormat, match=r"several formats \(twcs, free_fr\); pass the format explicitly"):
            detect_format([*TWCS, "author", "date", "url"])
        with pytest.raises(UnknownFormat, match=r"^unknown tweet format: the tweets' fields are \[id\]"):
            detect_tweet_format(["id"])
        with pytest.raises(UnknownFormat, match=r"^unknown format 'csv'; known: twcs, free_fr$"):
            format_by_name("csv")


def test_twcs_rows_become_canonical_tweets_and_each_bad_row_is_rejected_with_its_reason():
    at = "Tue Oct 31 22:10:47 +0000 2017"
    parsed = TwcsFormat().parse(frame(
        TWCS,
        [" 7 ", "sprintcare", "False", at, "we are on it", "9, 10.0", "6.0"],
        ["8", "cust8", "TRUE", at, "no signal", "", ""],
        ["", "cust", "True", at, "no id", "", ""],
        ["12a", "cust", "True", at, "id with letters", "", ""],
        ["13", "", "True", at, "nobody wrote it", "", ""],
        ["14", "cust", "maybe", at, "inbound unknown", "", ""],
        ["15", "cust", "True", "yesterday", "no date", "", ""],
        ["16", "cust", "True", at, "reply to junk", "", "abc"],
    ))
    assert parsed.rejects == [(2, "missing tweet_id"), (3, "bad tweet_id: not a number"), (4, "missing author_id"),
                              (5, "bad inbound: neither True nor False"),
                              (6, "bad created_at: expected a date like 'Tue Oct 31 22:10:47 +0000 2017'"),
                              (7, "bad in_response_to_tweet_id: not a tweet id")]
    brand, customer = parsed.tweets.to_dict("records")
    assert (brand["tweet_id"], brand["is_brand"], brand["reply_to_id"], brand["response_ids"]) == (
        "7", True, "6", ["9", "10"])  # ids as pandas wrote them ("10.0") read back as ids
    assert (customer["tweet_id"], customer["is_brand"], customer["reply_to_id"], customer["response_ids"]) == (
        "8", False, "", [])
    assert customer["created_at"] == datetime(2017, 10, 31, 22, 10, 47, tzinfo=UTC)


def test_the_french_feed_knows_the_brand_by_its_account_whatever_the_case(settings):
    settings.DALLOSH_INGEST = settings.DALLOSH_INGEST.replace(fr_brand_accounts=("Freebox", " free "))
    parsed = FreeOperatorFormat().parse(frame(
        FREE,
        ["1", "FREEBOX", "On regarde ça", "2020-12-28 07:26:23+00:00", "u"],
        ["2", "Free", "Bonjour", "2020-12-28T08:00:00Z", "u"],
        ["3", "lucie", "ma box ne marche plus", "2020-12-28 09:00:00+01:00", "u"],
        ["4", "lucie", "quand ?", "hier", "u"],
        ["5", "lucie", "an zéro", "0000-01-01", "u"],  # pandas reads year 0, which no datetime holds
        ["6", " ", "personne", "2020-12-28 07:26:23+00:00", "u"],
    ))
    bad_date = "bad date: expected an ISO date like '2020-12-28 07:26:23+00:00'"
    assert parsed.rejects == [(5, "missing author"), (3, bad_date), (4, bad_date)]
    assert parsed.tweets[["author", "is_brand"]].values.tolist() == [
        ["FREEBOX", True], ["Free", True], ["lucie", False]]
    assert parsed.tweets["created_at"].iloc[2] == datetime(2020, 12, 28, 8, 0, tzinfo=UTC)
