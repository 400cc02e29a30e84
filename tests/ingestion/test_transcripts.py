"""Call transcripts (ingestion/transcripts.py) read as the pipeline reads tweets: each format
gives the dialogue with who spoke and when, the model reads the customer's turns only, one
call is one ticket stored once, and what cannot be read is quarantined with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from ingestion import transcripts
from ingestion.models import QuarantinedRow, RawRow, Tweet
from ingestion.services import ingest_calls
from ingestion.transcripts import Hints, TranscriptRefused
from tickets.models import Ticket

AGENTS = {"agent", "conseiller"}
STARTED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
JSON_CALL = json.dumps({
    "call_id": "C-1001", "caller": "+33612345678", "started_at": "2026-12-01T10:30:00+01:00", "duration_s": 95,
    "speakers": {"Marie": "agent"},
    "turns": [{"speaker": "Marie", "start": 0.0, "end": 4.5, "text": "Bonjour, service client, Marie à l'appareil."},
              {"role": "customer", "start": 5.0, "end": 12.0, "text": "Ma box ne capte plus rien depuis hier soir."},
              {"speaker": "Marie", "start": 13.0, "end": 20.0, "text": "Je lance un diagnostic de votre ligne."}]})
VTT = """WEBVTT

NOTE a call from the hotline

00:00:01.000 --> 00:00:04.000
<v Agent>Hello, how can I help?</v>

00:00:04.500 --> 00:00:09.250
<v Sam>I was charged twice for my November invoice.

00:01:05.000 --> 00:01:09.000
<v Agent>I see it, I am refunding the second one.</v>
"""
SRT = """1
00:00:00,500 --> 00:00:03,000
Conseiller: Bonjour, que puis-je faire pour vous ?

2
00:00:03,500 --> 00:00:08,000
Client: Je n'ai plus de réseau mobile à Lyon.
"""
TEXT = """Agent : Bonjour, vous êtes bien chez Dallosh.
Client : Bonjour, internet coupe
toutes les dix minutes depuis lundi.
Agent : Je regarde cela.
"""


@pytest.mark.no_servers
def test_a_json_call_keeps_who_spoke_when_and_the_model_reads_the_customer_only():
    call = transcripts.parse(JSON_CALL.encode(), hints=Hints(), agent_speakers=AGENTS)
    assert (call.call_id, call.caller, call.duration_s, call.format) == ("C-1001", "+33612345678", 95.0, "json")
    assert call.started_at == STARTED
    assert [(t.role, t.start_s) for t in call.turns] == [("agent", 0.0), ("customer", 5.0), ("agent", 13.0)]
    assert call.customer_words == "Ma box ne capte plus rien depuis hier soir."


@pytest.mark.no_servers
def test_webvtt_voices_srt_prefixes_and_plain_text_turns_are_read():
    vtt = transcripts.parse(VTT.encode(), hints=Hints(caller="+447700900123", call_id="V-7"), agent_speakers=AGENTS)
    assert [(t.role, t.speaker, t.start_s, t.end_s) for t in vtt.turns] == [
        ("agent", "Agent", 1.0, 4.0), ("customer", "Sam", 4.5, 9.25), ("agent", "Agent", 65.0, 69.0)]
    assert vtt.customer_words == "I was charged twice for my November invoice." and vtt.duration_s == 69.0
    srt = transcripts.parse(SRT.encode(), hints=Hints(caller="+33600000001"), agent_speakers=AGENTS)
    assert srt.format == "srt" and [t.role for t in srt.turns] == ["agent", "customer"]
    assert srt.customer_words == "Je n'ai plus de réseau mobile à Lyon."
    text = transcripts.parse(TEXT.encode(), hints=Hints(caller="+33600000002"), agent_speakers=AGENTS)
    assert text.format == "text"
    assert text.customer_words == "Bonjour, internet coupe toutes les dix minutes depuis lundi."
    named = transcripts.parse(VTT.replace("Agent", "Paul").encode(), hints=Hints(caller="1", agents=("paul",)),
                              agent_speakers=AGENTS)
    assert [t.role for t in named.turns] == ["agent", "customer", "agent"]  # an agent the request names


@pytest.mark.no_servers
@pytest.mark.parametrize(("raw", "hints", "reason"), [
    ('{"turns": [', Hints(caller="1"), "not valid JSON"),
    ("WEBVTT\n\n00:00:01 --> later\n<v Agent>Hi</v>\n", Hints(caller="1"), "times cannot be read"),
    ("Bonjour sans personne\nAgent : oui\n", Hints(caller="1"), "names no speaker"),
    ("Agent : Bonjour\nConseiller : Au revoir\n", Hints(caller="1"), "no turn is the customer's"),
    (TEXT, Hints(), "caller's number is missing"),
    ('{"caller": "1", "turns": [{"role": "customer", "text": "  "}]}', Hints(), "turn 1 has no text"),
])
def test_a_transcript_that_cannot_be_read_is_refused_with_its_reason(raw, hints, reason):
    with pytest.raises(TranscriptRefused, match=reason):
        transcripts.parse(raw.encode(), hints=hints, agent_speakers=AGENTS)


def test_each_call_is_one_ticket_stored_once_and_a_broken_one_is_quarantined_raw():
    broken = b'{"call_id": "C-9", "turns": ['
    job = ingest_calls(calls=[(JSON_CALL.encode(), Hints()), (VTT.encode(), Hints(caller="+447700900123")),
                              (broken, Hints(caller="+33611111111"))])
    assert (job.counters.tweets_created, job.counters.quarantined) == (2, 1)
    ticket = Ticket.objects.get(id="call:C-1001")
    assert (ticket.channel, ticket.customer, ticket.language) == ("call", "+33612345678", "fr")
    call = Tweet.objects.get(id="call:C-1001")
    assert call.text == "Ma box ne capte plus rien depuis hier soir." and call.created_at == STARTED
    assert len(call.call["turns"]) == 3 and call.call["duration_s"] == 95
    (refused,) = QuarantinedRow.objects
    assert "not valid JSON" in refused.reason
    assert RawRow.objects(row=2).get().raw_bytes == broken  # kept as received
    again = ingest_calls(calls=[(JSON_CALL.encode(), Hints(call_id="other"))])  # the file names its call
    assert again.counters.tweets_created == 0 and Ticket.objects(channel="call").count() == 2


def test_the_api_and_the_command_take_transcripts_and_the_page_shows_a_dialogue(client, make_user, tmp_path,
                                                                                  ingest_client):
    sent = ingest_client.post("/api/v1/ingest/calls?caller=%2B33600000003&started_at=2026-12-01T08:00:00Z&call_id=T-3",
                    SRT.encode(), content_type="application/x-subrip")
    assert sent.status_code == 201 and sent.json()["counters"]["tweets_created"] == 1
    assert ingest_client.post("/api/v1/ingest/calls", b"", content_type="text/plain").status_code == 400
    path = tmp_path / "call.txt"
    path.write_text(TEXT, encoding="utf-8")
    call_command("ingest_calls", str(path), "--caller", "+33600000002", "--started-at", "2026-12-01T11:00:00+01:00")
    assert Ticket.objects(channel="call").count() == 2
    client.force_login(make_user("max", role="manager"))
    page = client.get("/tickets/call:T-3/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "+33600000003" in page and "0:03" in page and "Je n&#x27;ai plus de réseau mobile à Lyon." in page
    assert "Conseiller" in page and "Transcription" in page


@pytest.mark.no_servers
def test_json_nested_too_deeply_is_refused_like_any_unreadable_json():
    with pytest.raises(TranscriptRefused, match="not valid JSON"):
        transcripts.parse(b'{"a":' * 100_000, hints=Hints(caller="1"), agent_speakers=AGENTS)


def test_a_start_without_its_zone_is_refused_by_the_api(ingest_client):
    for started in ("2026-12-01", "2026-12-01T08:00:00", "tomorrow", ""):
        answer = ingest_client.post(f"/api/v1/ingest/calls?caller=1&started_at={started}", TEXT.encode(),
                          content_type="text/plain")
        assert answer.status_code == 400 and "started_at" in answer.json()["error"], answer.content
    assert Ticket.objects.count() == 0


def test_a_json_body_the_schema_refuses_is_a_400_and_stores_nothing(ingest_client):
    for body in ({}, {"turns": []}, {"turns": [{"text": 5}]}, {"turns": [{"text": "hi"}], "caller": 33612}, []):
        answer = ingest_client.post("/api/v1/ingest/calls", json.dumps(body), content_type="application/json")
        assert answer.status_code == 400, (body, answer.content)
    assert ingest_client.post("/api/v1/ingest/calls", JSON_CALL, content_type="application/json").status_code == 201
    assert RawRow.objects.count() == 1
