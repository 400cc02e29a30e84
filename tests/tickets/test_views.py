"""The back-office pages: what each role reaches, what the pages show, and actions through
both doors (the page and the API, where a test compares them). The tickets API alone is
tests/tickets/test_api.py's."""

import re

import pytest

from dallosh import tokens
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([^"]+)"', html)


def test_agents_land_on_their_queue_in_urgency_order(client, make_user, analysed):
    low, high = analysed("no signal at home", "internet down")
    client.force_login(make_user("ana", "tech"))
    landing = client.get("/", follow=True)
    assert landing.redirect_chain[-1][0] == "/queues/tech/"
    assert row_ids(landing.content.decode()) == [high, low]
    page = landing.content.decode()
    assert "network" in page and "read: internet down" in page  # topic and the model's summary
    assert client.get("/queues/billing/").status_code == 403


def test_an_agent_never_reaches_another_teams_ticket(client, make_user, analysed):
    ticket_id = analysed("internet down")[0]
    bea = make_user("bea", "billing")
    client.force_login(bea)
    assert client.get(f"/tickets/{ticket_id}/").status_code == 404
    assert client.post(f"/tickets/{ticket_id}/claim/").status_code == 404
    assert client.get(f"/queues/tech/rows/{ticket_id}/").status_code == 403
    assert client.get(f"/queues/billing/rows/{ticket_id}/").status_code == 204
    assert Ticket.objects.get(id=ticket_id).assignee is None


def test_managers_read_every_queue_and_users_without_a_role_none(client, make_user, analysed):
    ticket_id = analysed("internet down")[0]
    client.force_login(make_user("max", role="manager"))
    assert row_ids(client.get("/queues/tech/").content.decode()) == [ticket_id]
    assert client.get(f"/tickets/{ticket_id}/").status_code == 200
    client.force_login(make_user("nobody"))  # an "agent" group member of no team
    assert client.get("/queues/tech/").status_code == 403
    assert client.get(f"/tickets/{ticket_id}/").status_code == 404


def test_ticket_page_shows_conversation_analysis_and_routing(client, make_user, analysed):
    ticket_id = analysed("Internet DOWN since 8am @FreeSupport https://t.co/x")[0]
    client.force_login(make_user("ana", "tech"))
    page = client.get(f"/tickets/{ticket_id}/").content.decode()
    assert "Internet DOWN since 8am @FreeSupport https://t.co/x" in page  # as written, once
    # what the model read is there to unfold, not printed again beside the tweet
    assert '<summary>What the model read</summary><p class="muted">Internet DOWN since 8am</p>' in page
    assert "By the LLM (openai) (openai-model)" in page
    assert "default routing (LABELS.md)" in page


def test_actions_from_the_page_and_the_api(client, make_user, analysed):
    ticket_id = analysed("internet down")[0]
    ana, bob = make_user("ana", "tech"), make_user("bob", "tech")
    client.force_login(ana)
    assert client.post(f"/tickets/{ticket_id}/claim/").status_code == 302
    client.post(f"/tickets/{ticket_id}/note/", {"text": "called the customer"})
    client.post(f"/tickets/{ticket_id}/correct/", {"sentiment": "negative", "topic": "network", "urgency": "medium"})
    refused = client.post(f"/tickets/{ticket_id}/correct/", {"sentiment": "furious", "topic": "network",
                                                              "urgency": "medium"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and "furious" in refused.json()["error"]
    api = {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(bob)}"}
    conflict = client.post(f"/api/v1/tickets/{ticket_id}/claim", **api)
    assert conflict.status_code == 409 and conflict.json() == {"error": "Already held by ana."}
    done = client.post(f"/api/v1/tickets/{ticket_id}/status", {"status": "resolved"}, **api)
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    detail = client.get(f"/api/v1/tickets/{ticket_id}", **api).json()
    assert [entry["action"] for entry in detail["audit"]] == [
        "analysed", "claimed", "note_added", "labels_corrected", "status_changed"]
    assert detail["correction"]["by"] == "ana" and detail["analysis"]["urgency"] == "high"
    assert detail["urgency"] == "medium"


def test_a_correction_is_withdrawn_from_the_page(client, make_user, analysed):
    first = analysed("no signal at home")[0]
    ana, tom = make_user("ana", "tech"), make_user("tom", "tech")
    services.correct_labels(ticket_id=first, user=ana, sentiment="negative", topic="network", urgency="high",
                            actionable=True)
    client.force_login(tom)  # a colleague sees the correction, not the button
    page = client.get(f"/tickets/{first}/").content.decode()
    assert "Corrected by ana" in page and 'id="withdraw-correction"' not in page
    client.force_login(ana)
    page = client.get(f"/tickets/{first}/").content.decode()
    assert '<summary id="withdraw-correction">Withdraw correction</summary>' in page
    assert f'action="/tickets/{first}/withdraw_correction/"' in page and 'id="confirm-withdraw-correction"' in page
    after = client.post(f"/tickets/{first}/withdraw_correction/", follow=True).content.decode()
    assert "ana withdrew ana&#x27;s correction: the model&#x27;s labels stand again" in after
    assert "Corrected by ana" not in after and 'id="withdraw-correction"' not in after
    assert Ticket.objects.get(id=first).urgency == "low"
    refused = client.post(f"/tickets/{first}/withdraw_correction/", HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and "no correction to withdraw" in refused.json()["error"]


def test_bulk_reroute_from_the_queue_page(client, make_user, analysed):
    first, second = analysed("internet down", "fibre down")
    client.force_login(make_user("ana", "tech"))
    answer = client.post("/queues/tech/bulk/", {"ticket": [first, second], "action": "reroute", "team": "billing"},
                         follow=True)
    assert "2 tickets done." in answer.content.decode()
    assert set(Ticket.objects(team="billing").scalar("id")) == {first, second}


def test_a_refused_status_reads_as_a_sentence_on_the_page_and_the_api(client, make_user, analysed):
    """A status the ticket cannot take says what it is and what it can become; an unknown one
    says it is not a status (the page's script and the API give the same words, in one shape)."""
    ticket_id = analysed("internet down")[0]
    ana = make_user("ana", "tech")
    client.force_login(ana)
    client.post(f"/tickets/{ticket_id}/claim/")
    page = client.post(f"/tickets/{ticket_id}/status/", {"status": "bogus"}, HTTP_ACCEPT="application/json")
    assert page.status_code == 409 and page.json() == {"error": "'bogus' is not a status."}  # the API's shape
    api = {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(ana)}"}
    merged = client.post(f"/api/v1/tickets/{ticket_id}/status", {"status": "merged"}, **api)
    assert merged.status_code == 409
    assert merged.json() == {"error": "This ticket is in progress; it can become: new, waiting on customer, resolved."}
    client.post(f"/api/v1/tickets/{ticket_id}/status", {"status": "resolved"}, **api)
    again = client.post(f"/tickets/{ticket_id}/status/", {"status": "resolved"}, HTTP_ACCEPT="application/json")
    assert again.json()["error"] == "This ticket is already resolved."
    waiting = client.post(f"/api/v1/tickets/{ticket_id}/status", {"status": "waiting_customer"}, **api)
    assert waiting.json() == {"error": "This ticket is resolved; it can become: in progress."}
    unknown_team = client.post(f"/api/v1/tickets/{ticket_id}/reroute", {"team": "nowhere"}, **api)
    assert unknown_team.status_code == 409
    assert unknown_team.json()["error"].startswith("'nowhere' is not a team; the teams are: ")


def test_the_queue_page_counts_its_views_finds_a_customer_and_says_what_awaits(client, make_user, analysed):
    ana = make_user("ana", "tech")
    mine, other, _bill = analysed("internet down at home", "no signal in Paris", "my bill is wrong")
    services.claim_ticket(ticket_id=mine, user=ana)
    client.force_login(ana)
    page = client.get("/queues/tech/").content.decode()
    assert 'aria-current="page">Tech<span class="count">2</span>' in page  # the tech queue holds two
    assert ">to do (new and in progress) · 2<" in page and ">new · 1<" in page and ">in progress · 1<" in page
    assert ">assigned to me · 1<" in page
    customer = Ticket.objects.get(id=other).customer
    assert row_ids(client.get(f"/queues/tech/?q=%40{customer}").content.decode()) == [other]
    # nothing selected: told so, nothing done
    answer = client.post("/queues/tech/bulk/", {"action": "claim"}, follow=True).content.decode()
    assert "Select at least one ticket first." in answer
    # an empty view says how many tickets the fast tier has yet to label
    ingest_records(records=[twcs_record(n, "still waiting") for n in (81, 82, 83)], source="twcs")
    empty = client.get("/queues/tech/?status=resolved").content.decode()
    assert "3 tickets awaiting analysis" in empty


def test_the_queue_invites_review_of_the_tickets_the_machine_is_unsure_of(client, make_user, fast_labelled):
    sure, low_doubt, high_doubt = fast_labelled(
        "internet down at home", "no signal in Paris", "fibre down in Lyon",
        doubts={"no signal in Paris": {"topic": 0.41}, "fibre down in Lyon": {"urgency": 0.55}})
    client.force_login(make_user("ana", "tech"))
    page = client.get("/queues/tech/").content.decode()
    assert row_ids(page) == [sure, high_doubt, low_doubt]
    assert ('2 tickets the machine is unsure of: <a href="/queues/tech/?unsure=1">review them first</a>' in page)
    assert ">the machine is unsure · 2<" in page
    french = client.get("/queues/tech/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '2 tickets dont la machine doute : <a href="/queues/tech/?unsure=1">revoyez-les d\'abord</a>' in french
    unsure = client.get("/queues/tech/?unsure=1").content.decode()
    assert row_ids(unsure) == [high_doubt, low_doubt]  # overdue and most urgent first, as the queue
    assert 'id="unsure-view"' in unsure and 'id="unsure-invite"' not in unsure
    assert client.get("/queues/tech/?unsure=yes").status_code == 200  # not one of ours: ignored
    assert row_ids(client.get("/queues/tech/?unsure=yes").content.decode()) == [sure, high_doubt, low_doubt]
    # The ticket page asks first for the labels the machine doubts; saving them as they are confirms them.
    ticket_page = client.get(f"/tickets/{high_doubt}/").content.decode()
    assert "The machine is unsure of: urgency." in ticket_page and '<details class="card" open>' in ticket_page
    assert "The machine is unsure of" not in client.get(f"/tickets/{sure}/").content.decode()
    client.post(f"/tickets/{high_doubt}/correct/", {"sentiment": "negative", "topic": "network", "urgency": "high",
                                                    "actionable": "on"})
    assert client.get(f"/queues/tech/rows/{high_doubt}/?unsure=1").status_code == 204  # the live row leaves
    assert row_ids(client.get("/queues/tech/?unsure=1").content.decode()) == [low_doubt]
    assert "1 ticket the machine is unsure of" in client.get("/queues/tech/").content.decode()
    assert "The machine is unsure of" not in client.get(f"/tickets/{high_doubt}/").content.decode()


def test_tickets_waiting_on_the_customer_have_their_own_tab_and_leave_the_work_to_do(client, make_user, analysed):
    ana = make_user("ana", "tech")
    urgent, calm = analysed("internet down since this morning", "fibre down")  # both high, tech
    services.claim_ticket(ticket_id=urgent, user=ana)
    services.change_status(ticket_id=urgent, user=ana, status="waiting_customer")
    client.force_login(ana)
    to_do = client.get("/queues/tech/").content.decode()
    assert row_ids(to_do) == [calm]
    tabs = re.search(r'<nav class="tabs views"[^>]*>(.*?)</nav>', to_do, re.S).group(1)
    assert re.search(r'aria-current="page">To do<span class="count">1</span>', tabs)
    assert re.search(r'Waiting on the customer<span class="count">1</span>', tabs)
    waiting = client.get("/queues/tech/?status=waiting_customer").content.decode()
    assert row_ids(waiting) == [urgent]
