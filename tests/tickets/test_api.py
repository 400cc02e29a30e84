"""The tickets REST API (tickets/api.py): the same permission rules as the pages (another
team's ticket is a 404, as a missing one), a queue paged by the `next` it gives, a ticket's
detail and analysis with their history, actions with their refusals as sentences, and two
agents claiming at once through the ASGI server. Tickets are ingested and analysed by the
real pipeline (scripted model); token-authenticated requests through the real stack."""

import json
import threading
import urllib.error
import urllib.request

import pytest

from dallosh import tokens
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tests.steps import all_at_once
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def token_for(user):
    return {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(user)}"}


def test_an_agent_never_reaches_another_teams_ticket_through_the_api(client, make_user, analysed):
    ticket_id = analysed("internet down")[0]
    api = token_for(make_user("bea", "billing"))
    assert client.get(f"/api/v1/tickets/{ticket_id}", **api).status_code == 404
    assert client.get("/api/v1/queues/tech/tickets", **api).status_code == 404
    assert client.post(f"/api/v1/tickets/{ticket_id}/claim", **api).status_code == 404
    assert client.get("/api/v1/queues/billing/tickets", **api).json()["results"] == []
    assert Ticket.objects.get(id=ticket_id).assignee is None


def test_a_correction_is_withdrawn_through_the_api(client, make_user, analysed):
    second = analysed("no signal at work")[0]
    ana, tom = make_user("ana", "tech"), make_user("tom", "tech")
    services.correct_labels(ticket_id=second, user=ana, sentiment="negative", topic="network", urgency="high",
                            actionable=True)
    api = {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(tom)}"}
    forbidden = client.post(f"/api/v1/tickets/{second}/withdraw_correction", **api)
    assert forbidden.status_code == 403 and forbidden.json() == {
        "error": "Only ana, who made the correction, or a manager can withdraw it."}
    api = {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(ana)}"}
    done = client.post(f"/api/v1/tickets/{second}/withdraw_correction", **api)
    assert done.status_code == 200 and done.json()["urgency"] == "low"
    detail = client.get(f"/api/v1/tickets/{second}", **api).json()
    assert detail["correction"] is None and detail["audit"][-1]["action"] == "correction_withdrawn"
    assert [(c["by"], c["urgency"], c["withdrawn_by"]) for c in detail["withdrawn_corrections"]] == [
        ("ana", "high", "ana")]
    labels = client.get(f"/api/v1/analyses/{second}", **api).json()
    assert labels["correction"] is None and labels["labels"]["urgency"] == "low"  # the model's stand again


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_over_http_one_wins(daphne_server, make_user, analysed):
    """Two agents' API clients claim the same ticket at the same moment through the ASGI server."""
    ticket_id = analysed("internet down")[0]
    keys = {name: tokens.create_token(make_user(name, "tech")) for name in ("ana", "bob")}
    start, answers = threading.Barrier(2), {}

    def claim(name):
        request = urllib.request.Request(f"{daphne_server}/api/v1/tickets/{ticket_id}/claim", method="POST",
                                         headers={"Authorization": f"Token {keys[name]}"})
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                answers[name] = (response.status, json.load(response))
        except urllib.error.HTTPError as refusal:
            answers[name] = (refusal.code, json.load(refusal))

    all_at_once(claim, keys)
    holder = Ticket.objects.get(id=ticket_id).assignee
    other = ({"ana", "bob"} - {holder}).pop()
    assert answers[holder][0] == 200 and answers[holder][1]["assignee"] == holder
    assert answers[other] == (409, {"error": f"Already held by {holder}."})


def test_a_queue_is_read_page_by_page_following_next_in_the_queues_order(client, make_user, analysed, settings):
    settings.DALLOSH_QUEUE = settings.DALLOSH_QUEUE.replace(page_size=2)
    low, high, later_low = analysed("no signal at home", "internet down", "no signal at work")
    api = token_for(make_user("ana", "tech"))
    first = client.get("/api/v1/queues/tech/tickets", **api).json()
    assert [row["id"] for row in first["results"]] == [high, low] and first["next"]
    assert [(row["team"], row["urgency"], row["status"], row["assignee"]) for row in first["results"]] == [
        ("tech", "high", "new", None), ("tech", "low", "new", None)]
    second = client.get("/api/v1/queues/tech/tickets", {"after": first["next"]}, **api).json()
    assert [row["id"] for row in second["results"]] == [later_low] and second["next"] is None
    keys = [row["key"] for row in first["results"] + second["results"]]
    assert keys == sorted(keys)  # a client places live rows by their key


def test_a_tickets_detail_gives_its_history_and_tweets_with_dates_as_iso_strings(client, make_user, analysed):
    ticket_id = analysed("internet down")[0]
    ana = make_user("ana", "tech")
    api = token_for(ana)
    client.post(f"/api/v1/tickets/{ticket_id}/note", json.dumps({"text": "called the customer"}),
                content_type="application/json", **api)
    detail = client.get(f"/api/v1/tickets/{ticket_id}", **api).json()
    assert detail["tweet_ids"] == [ticket_id] and detail["customer"] == f"customer{ticket_id.split(':')[1]}"
    assert [(note["by"], note["text"]) for note in detail["notes"]] == [("ana", "called the customer")]
    assert [entry["action"] for entry in detail["audit"]] == ["analysed", "note_added"]
    assert all(isinstance(entry["at"], str) and entry["at"][:4].isdigit() for entry in detail["audit"])
    assert detail["analysis"]["topic"] == "network" and isinstance(detail["analysis"]["analysed_at"], str)


def test_an_unanalysed_ticket_has_no_analysis_to_read_and_an_unknown_action_is_no_route(client, make_user, analysed):
    analysed_id = analysed("internet down")[0]
    ingest_records(records=[twcs_record(77, "still waiting")], source="twcs")
    api = token_for(make_user("max", role="manager"))
    waiting = client.get("/api/v1/analyses/twcs:77", **api)
    assert waiting.status_code == 404 and waiting.json() == {"error": "This ticket has not been analysed yet."}
    french = client.get("/api/v1/analyses/twcs:77", HTTP_ACCEPT_LANGUAGE="fr", **api)
    assert french.status_code == 404 and french.json() == {"error": "Ce ticket n'a pas encore été analysé."}
    assert client.post(f"/api/v1/tickets/{analysed_id}/archive", **api).status_code == 404
    assert client.get("/api/v1/queues/nowhere/tickets", **api).status_code == 404


def test_an_action_body_with_a_value_of_the_wrong_kind_is_a_400_naming_the_field(client, make_user, analysed):
    ticket_id = analysed("internet down")[0]
    api = token_for(make_user("ana", "tech"))
    body = {"sentiment": "neutral", "topic": "network", "urgency": "low", "actionable": "no"}  # JSON's is false
    refused = client.post(f"/api/v1/tickets/{ticket_id}/correct", json.dumps(body), content_type="application/json",
                          **api)
    assert refused.status_code == 400 and set(refused.json()["error"]) == {"actionable"}
    assert Ticket.objects.get(id=ticket_id).correction is None
