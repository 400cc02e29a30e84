"""The reply-draft routes (analysis/views.py): asking for a draft answers at once (202 to the
page's script, else back to the ticket page) and never calls an LLM or starts the local model
in a web process; the page polls the agent's latest draft; a ticket the agent may not see is
not found, whether it exists or not; only a logged-in agent's POST asks."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from analysis.models import ReplyDraft
from config import embedded
from tests.steps import agent_client, draft_status

pytestmark = pytest.mark.django_db

FRENCH_TWEET = "ma box est en panne depuis ce matin"


def test_a_draft_request_returns_at_once_and_never_calls_an_llm_or_starts_the_local_model(
        analysed, use_tiers, fault_server, make_user, refine_broker, settings, monkeypatch):
    ticket_id = analysed(FRENCH_TWEET)[0]
    fault_server.play()  # forget the labelling request
    # The chain as a web process would see it: the scripted server first, then the local tier
    # on a port where nothing listens, allowed to start a llama.cpp server. A web request that
    # reached the chain would call the one and try to start the other.
    use_tiers(("openai", fault_server.url), ("local", f"http://127.0.0.1:{embedded.free_port()}/v1"))
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(local_autostart=True)
    from analysis import local_model

    starts = []
    monkeypatch.setattr(local_model, "start_server", lambda **kwargs: starts.append(kwargs))
    waiting = refine_broker.queue_size()
    ana = agent_client(make_user("ana", "tech"))

    started = time.monotonic()
    response = ana.post(f"/tickets/{ticket_id}/draft-reply/")
    took = time.monotonic() - started
    assert response.status_code == 302 and response.headers["Location"] == f"/tickets/{ticket_id}/"
    assert took < 2, f"the draft request took {took:.1f}s"
    assert fault_server.requests == [] and starts == []
    assert refine_broker.queue_size() == waiting + 1  # one task for the refine cluster
    stored = ReplyDraft.objects.get()
    assert (stored.ticket_id, stored.requested_by, stored.status, stored.text) == (ticket_id, "ana", "queued", None)
    assert draft_status(ana, ticket_id)["status"] == "queued"
    page = ana.get(f"/tickets/{ticket_id}/").content.decode()
    assert 'data-status="queued">Drafting…</span>' in page

    bea = agent_client(make_user("bea", "tech"))
    answer = bea.post(f"/tickets/{ticket_id}/draft-reply/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 202
    assert answer.json()["draft"]["status"] == "queued"
    assert answer.json()["status_url"] == f"/tickets/{ticket_id}/draft-reply/latest/"
    assert fault_server.requests == [] and starts == []


def test_the_page_polls_null_until_the_agent_asks_and_sees_only_its_own_draft(analysed, make_user, refine_broker):
    ticket_id = analysed(FRENCH_TWEET)[0]
    ana, bea = agent_client(make_user("ana", "tech")), agent_client(make_user("bea", "tech"))
    assert draft_status(ana, ticket_id) is None
    ana.post(f"/tickets/{ticket_id}/draft-reply/", HTTP_ACCEPT="application/json")
    assert draft_status(ana, ticket_id)["ticket"] == ticket_id
    assert draft_status(bea, ticket_id) is None, "another agent's draft is not theirs"


def test_a_ticket_the_agent_may_not_see_is_not_found_whether_it_exists_or_not(analysed, make_user):
    ticket_id = analysed(FRENCH_TWEET)[0]  # a tech ticket: "panne"
    billing = agent_client(make_user("bo", "billing"))
    for url in (f"/tickets/{ticket_id}/draft-reply/latest/", "/tickets/twcs:404404/draft-reply/latest/"):
        assert billing.get(url, HTTP_ACCEPT="application/json").status_code == 404
    assert billing.post(f"/tickets/{ticket_id}/draft-reply/", HTTP_ACCEPT="application/json").status_code == 404
    assert ReplyDraft.objects.count() == 0


def test_only_a_logged_in_agents_post_asks_for_a_draft(analysed, make_user):
    ticket_id = analysed(FRENCH_TWEET)[0]
    anonymous = Client().post(f"/tickets/{ticket_id}/draft-reply/")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login/")
    assert agent_client(make_user("ana", "tech")).get(f"/tickets/{ticket_id}/draft-reply/").status_code == 405
    assert ReplyDraft.objects.count() == 0
