"""Hostile input: each file of the hostile corpus is refused clearly or read with every row
accounted for; property-based tests on the CSV reader and the cleaner; the stream
endpoint under oversized, malformed, unauthenticated and flooding requests."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from bench.hostile_inputs import corpus
from dallosh import tokens, vocabulary
from ingestion import cleaning
from ingestion.models import IngestJob, QuarantinedRow, RawRow, Tweet
from ingestion.reader import UnreadableFile, iter_chunks, read_header
from tests.helpers import twcs_record

pytestmark = pytest.mark.django_db

CORPUS = corpus()


@pytest.mark.parametrize("hostile", CORPUS, ids=[h.name for h in CORPUS])
def test_each_hostile_file_is_refused_clearly_or_fully_accounted_for(hostile, tmp_path):
    path = tmp_path / hostile.name
    path.write_bytes(hostile.content)
    if hostile.refused:
        with pytest.raises(CommandError, match=hostile.refused):
            call_command("ingest", str(path), "--no-progress")
        assert Tweet.objects.count() == 0
        return
    call_command("ingest", str(path), "--no-progress")
    job = IngestJob.objects.get()
    counters = job.counters
    assert counters.rows_read == hostile.rows == counters.tweets_created + counters.quarantined
    assert Tweet.objects.count() == hostile.stored
    assert RawRow.objects(job=job.id).count() == hostile.rows  # stored before parsing, bad ones too
    assert job.quarantine_reasons == hostile.quarantined
    assert all(q.reason for q in QuarantinedRow.objects(job=job.id))


def test_mixed_encodings_keep_their_accents(tmp_path):
    hostile = next(h for h in CORPUS if h.name == "mixed_encodings.csv")
    (tmp_path / hostile.name).write_bytes(hostile.content)
    call_command("ingest", str(tmp_path / hostile.name), "--no-progress")
    assert sorted(t.text for t in Tweet.objects) == ["débit à zéro", "débit à zéro", "“coupé” €"]


# --- properties -------------------------------------------------------------------------------

cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


def csv_text(rows: list[list[str]]) -> str:
    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    return "".join(",".join(quoted(v) for v in row) + "\n" for row in rows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=30),
       chunk_rows=st.integers(min_value=1, max_value=7))
def test_any_well_quoted_csv_reads_back_exactly_in_any_chunking(rows, chunk_rows):
    data = ("a,b,c\n" + csv_text(rows)).encode()
    header = read_header(io.BytesIO(data))
    records = [r for chunk in iter_chunks(io.BytesIO(data), header, chunk_rows=chunk_rows) for r in chunk.records]
    assert [r.fields for r in records] == rows
    assert [r.row for r in records] == list(range(len(rows)))


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.binary(max_size=60), min_size=1, max_size=30))
def test_arbitrary_bytes_never_lose_a_line(lines):
    """Whatever the bytes, every non-blank line is yielded as a record or an error: none vanish."""
    body = b"\n".join(line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines) + b"\n"
    data = b"a,b\n" + body
    try:
        header = read_header(io.BytesIO(data))
    except UnreadableFile as refusal:  # binary-looking bytes: the whole file is refused, with its reason
        assert "binary" in str(refusal)
        return
    records = [r for chunk in iter_chunks(io.BytesIO(data), header, chunk_rows=5) for r in chunk.records]
    consumed_lines = sum(r.raw_text.count("\n") + 1 for r in records)
    non_blank = [line for line in body.split(b"\n")[:-1] if line.strip(b" ")]
    assert consumed_lines >= len(non_blank)
    assert all(r.fields is not None or r.error for r in records)


words = st.from_regex(r"[A-Za-z]{3,12}", fullmatch=True)
noise = st.sampled_from(["@free", "https://t.co/x1", "#panne", "😡", "&amp;", "  ", "\n", "RT @x:", "…", "http://a.b/c?d=1"])


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.one_of(words, noise, st.text(max_size=8)), max_size=25))
def test_cleaning_strips_urls_and_mentions_keeps_every_plain_word_and_normalises_spaces(parts):
    import pandas as pd

    original = " ".join(parts)
    clean = cleaning.clean_for_model(pd.Series([original]))[0]
    assert "http://" not in clean and "https://" not in clean
    assert "@free" not in clean and "😡" not in clean
    assert clean == clean.strip() and "  " not in clean and "\n" not in clean
    kept = clean.split()
    for part in parts:
        if re.fullmatch(r"[A-Za-z]{3,12}", part):
            assert part in kept, (part, clean)
    assert cleaning.detect_languages(pd.Series([clean]))[0] in (*vocabulary.LANGUAGES, vocabulary.UNKNOWN_LANGUAGE)


# --- the stream endpoint ----------------------------------------------------------------------


def fibre_down(n: int) -> dict:
    return twcs_record(n, "my fibre is down", author=f"c{n}")


def test_stream_refuses_oversized_and_malformed_payloads_storing_nothing(ingest_client, settings):
    oversized = ingest_client.post("/api/v1/ingest/stream", json.dumps([fibre_down(1) | {"text": "x" * 9_000_000}]),
                            content_type="application/json")
    assert oversized.status_code in (400, 413)
    malformed = ingest_client.post("/api/v1/ingest/stream", '[{"tweet_id": "1", ', content_type="application/json")
    assert malformed.status_code == 400 and "JSON" in malformed.content.decode()
    too_many = ingest_client.post("/api/v1/ingest/stream", json.dumps([fibre_down(n) for n in range(5001)]),
                           content_type="application/json")
    assert too_many.status_code in (400, 413) and "5,000" in too_many.content.decode().replace("5000", "5,000")
    assert Tweet.objects.count() == 0


def test_stream_refuses_missing_bad_and_unentitled_tokens(make_user):
    anonymous = APIClient().post("/api/v1/ingest/stream", [fibre_down(1)], format="json")
    assert anonymous.status_code == 401
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert forged.post("/api/v1/ingest/stream", [fibre_down(1)], format="json").status_code == 401
    agent = APIClient()
    agent.credentials(HTTP_AUTHORIZATION=f"Token {tokens.create_token(make_user('ana', 'tech'))}")
    assert agent.post("/api/v1/ingest/stream", [fibre_down(1)], format="json").status_code == 403
    assert Tweet.objects.count() == 0


def test_a_stream_flood_is_throttled_not_crashed(ingest_client, monkeypatch):
    from ingestion.api import StreamIngestView

    throttle = StreamIngestView.throttle_classes[0]
    monkeypatch.setattr(throttle, "THROTTLE_RATES", {**throttle.THROTTLE_RATES, throttle.scope: "10/min"})
    cache.clear()
    codes = [ingest_client.post("/api/v1/ingest/stream", [fibre_down(n)], format="json").status_code for n in range(25)]
    cache.clear()
    assert codes[:10] == [201] * 10 and set(codes[10:]) == {429}
    assert Tweet.objects.count() == 10


def test_a_file_with_an_18_mb_record_is_ingested_with_that_record_quarantined(write_csv, settings):
    """Without a bound such a record raised DocumentTooLarge and failed the same chunk on
    every resume; now it is quarantined and the job completes."""
    from ingestion import services
    from tests.helpers import TWCS_HEADER, twcs_row

    huge = ",".join(f'"{"z" * 450_000}\n{"z" * 450_000}"' for _ in range(20))
    content = TWCS_HEADER + twcs_row(0, 1, "cust", "True", "internet down since noon") + huge + "\n" \
        + twcs_row(2, 3, "cust2", "True", "no signal in Lyon")
    job = services.ingest_file(path=write_csv("huge.csv", content))
    assert job.status == "completed" and job.counters.quarantined == 1
    quarantined = QuarantinedRow.objects.get()
    assert quarantined.reason.startswith("record too large") and len(quarantined.raw_text) == 4096
    assert RawRow.objects.count() == 3 and sorted(t.id for t in Tweet.objects) == ["twcs:1", "twcs:3"]
