"""Reply drafts on a refine worker: the web request only records the request and answers at
once (no LLM call, no local model started from a web process); the worker asks the provider
chain, refuses drafts that decline to help or carry a link, stores the draft and announces
it to the requester's ticket page, which fills the reply box live. Drafts are rate-limited
per agent with a message, never an error page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from analysis import drafts, replies
from analysis.drafts import services as draft_services
from analysis.models import ReplyDraft
from bench import llm_servers as faults
from config import embedded
from config.asgi import application
from dallosh import live
from tests.steps import agent_client, draft_status, logged_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the worker, Daphne and the consumers read users

FRENCH_TWEET = "ma box est en panne depuis ce matin"
GOOD_FRENCH_DRAFT = "first draft: sorry about ma box est en panne depuis ce matin, please DM us."
# The reply box's tag, up to its text.
REPLY_BOX = 'aria-label="reply" aria-keyshortcuts="e" placeholder="The reply you sent…">'



def worker_env(fault_server, **extra: str) -> dict[str, str]:
    return {"DALLOSH_ANALYSIS_TIERS": "openai", "OPENAI_BASE_URL": fault_server.url, "OPENAI_API_KEY": "test",
            "OPENAI_MODEL": "scripted", "DALLOSH_LOCAL_MODEL": "off", "DALLOSH_FAST_TIER": "off", **extra}


def draft_requests(server) -> list[dict]:
    """The requests a scripted server got for reply drafts (not labels or summaries)."""
    return [r for r in server.requests if faults._reply_only(r)]


def wait_ready(client: Client, ticket_id: str, *, timeout: float) -> dict:
    draft = wait_for(lambda: draft_status(client, ticket_id), until=lambda d: d and d["status"] in ("ready", "failed"),
                     timeout=timeout, every=0.5)
    assert draft["status"] == "ready", draft
    return draft


# --- the web request ------------------------------------------------------------------------


def test_drafts_expire_after_a_day_by_the_ttl_index(analysed, make_user, refine_broker):
    ticket_id = analysed("internet down since noon")[0]
    agent_client(make_user("ana", "tech")).post(f"/tickets/{ticket_id}/draft-reply/")
    draft = ReplyDraft.objects.get()
    assert draft.expires_at - draft.created_at == timedelta(days=1)
    ttl = [index for index in ReplyDraft._get_collection().index_information().values()
           if index["key"] == [("expires_at", 1)]]
    assert [index.get("expireAfterSeconds") for index in ttl] == [0]


def test_drafts_are_rate_limited_per_agent_with_a_message(analysed, make_user, refine_broker, monkeypatch):
    monkeypatch.setattr(drafts, "PER_MINUTE", 2)
    ticket_id = analysed("internet down since noon")[0]
    ana = agent_client(make_user("ana", "tech"))
    url = f"/tickets/{ticket_id}/draft-reply/"

    assert ana.post(url, HTTP_ACCEPT="application/json").status_code == 202
    busy = ana.post(url, HTTP_ACCEPT="application/json")
    assert busy.status_code == 429
    assert busy.json()["error"].startswith("A draft you asked for is still being written")
    page = ana.post(url, follow=True)  # the form without script: back to the page, with the message
    assert page.status_code == 200
    assert "A draft you asked for is still being written" in page.content.decode()

    bea = agent_client(make_user("bea", "tech"))
    assert bea.post(url, HTTP_ACCEPT="application/json").status_code == 202  # per agent

    def finish_anas_draft():  # as the worker does once it has written it
        ReplyDraft.objects(requested_by="ana", status="queued").update(set__status="ready", set__text="done")

    finish_anas_draft()
    assert ana.post(url, HTTP_ACCEPT="application/json").status_code == 202  # the second this minute
    finish_anas_draft()
    third = ana.post(url, HTTP_ACCEPT="application/json")
    assert third.status_code == 429
    assert third.json()["error"] == "You asked for 2 drafts within a minute; wait a moment, then ask again."
    assert ReplyDraft.objects(requested_by="ana").count() == 2


def test_a_draft_nobody_wrote_for_15_minutes_is_shown_failed_and_no_longer_blocks(analysed, make_user,
                                                                                 refine_broker, fault_server):
    ticket_id = analysed("internet down since noon")[0]
    fault_server.play()
    ana = agent_client(make_user("ana", "tech"))
    assert ana.post(f"/tickets/{ticket_id}/draft-reply/", HTTP_ACCEPT="application/json").status_code == 202
    lost = ReplyDraft.objects.get()
    long_ago = datetime.now(UTC) - timedelta(minutes=16)
    ReplyDraft.objects(id=lost.id).update(set__created_at=long_ago, set__updated_at=long_ago)
    shown = draft_status(ana, ticket_id)
    assert (shown["status"], shown["error"]) == ("failed", "no worker wrote it within 15 minutes")
    # A worker reaching it this late leaves it: the agent has been told it failed.
    assert draft_services.write_draft(draft_id=str(lost.id)) == "skipped"
    assert draft_requests(fault_server) == []
    assert ana.post(f"/tickets/{ticket_id}/draft-reply/", HTTP_ACCEPT="application/json").status_code == 202


def test_an_unreachable_broker_refuses_the_draft_with_a_message_not_a_500(analysed, make_user, monkeypatch):
    from django_q.conf import Conf

    ticket_id = analysed("internet down since noon")[0]
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{embedded.free_port()}/0")  # nothing listens
    ana = agent_client(make_user("ana", "tech"))
    answer = ana.post(f"/tickets/{ticket_id}/draft-reply/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 503
    assert answer.json()["error"].startswith("Drafts cannot be asked for right now")
    assert ReplyDraft.objects.get().status == "failed"
    assert ana.post(f"/tickets/{ticket_id}/draft-reply/", follow=True).status_code == 200


# --- what a draft may say -------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [
    "Je suis désolé, mais je ne peux pas vous aider avec cela.",
    "Désolée, je ne peux pas répondre à cette demande.",
    "Je ne peux malheureusement pas vous aider sur ce point.",
    "En tant qu'IA, je n'ai pas accès à votre compte.",
    "I'm sorry, but I can't help with that.",
    "I can’t help with that request.",
    "As an AI language model, I do not have access to your account.",
])
def test_a_draft_that_declines_to_help_is_refused(reply):
    assert [p.split(" (")[0] for p in replies.policy_problems(reply)] == ["it declines to help or speaks of itself"]


@pytest.mark.parametrize(("reply", "link"), [
    ("See https://status.example.com/outages for details.", "https://status.example.com/outages"),
    ("More on www.orange.fr, sorry!", "www.orange.fr,"),
    ("Outage map: bit.ly/x then DM us.", "bit.ly/x"),
    ("Everything is on sosh.fr, sorry for the trouble.", "sosh.fr"),
])
def test_a_draft_with_a_link_is_refused(reply, link):
    assert replies.policy_problems(reply) == [
        f"it carries a link or web address ({link!r}): never give links, invite the customer to a direct message "
        "instead"]


@pytest.mark.parametrize("reply", [
    replies.FALLBACK["fr"], replies.FALLBACK["en"], GOOD_FRENCH_DRAFT,
    "Bonjour M.Dupont, nous regardons votre forfait 1.5Go/mois : pouvez-vous nous écrire en message privé ?",
    "We can't see your account from here: could you DM us your customer number?",
])
def test_a_polite_draft_passes(reply):
    assert replies.policy_problems(reply) == []


# --- on a real refine worker --------------------------------------------------------------------


def test_a_worker_asks_again_after_a_declining_draft_and_the_page_hears_of_the_good_one(
        analysed, make_user, fault_server, start_qcluster, refine_broker):
    from ingestion.models import Tweet
    from tickets.models import Ticket

    ticket_id = analysed(FRENCH_TWEET)[0]
    assert Ticket.objects.get(id=ticket_id).language == "fr"
    ana, max_ = make_user("ana", "tech"), make_user("max", role="manager")
    ana_page, max_page = (WebsocketCommunicator(application, f"/ws/tickets/{ticket_id}/", headers=logged_in(user))
                          for user in (ana, max_))
    fault_server.play(faults.DECLINE)  # the first answer declines; then the scripted good draft
    before = (Tweet.objects.count(), Ticket.objects.get(id=ticket_id).version)
    start_qcluster("refine", **worker_env(fault_server))
    client = agent_client(ana)

    async def scenario():
        for page in (ana_page, max_page):
            assert (await page.connect(timeout=5))[0]
        response = await sync_to_async(client.post)(f"/tickets/{ticket_id}/draft-reply/",
                                                    HTTP_ACCEPT="application/json")
        assert response.status_code == 202
        heard = [await ana_page.receive_json_from(timeout=90), await ana_page.receive_json_from(timeout=90)]
        # A marker: a draft event for max, published after ana's on the same group. Had max's
        # page heard ana's draft events, they would arrive before it.
        await sync_to_async(live.publish)({live.ticket_group(ticket_id)}, {
            "type": live.DRAFT_CHANGED, "id": ticket_id, "draft": "marker", "status": "ready", "for": "max"})
        max_heard = await max_page.receive_json_from(timeout=5)
        for page in (ana_page, max_page):
            await page.disconnect()
        return response.json()["draft"]["id"], heard, max_heard

    draft_id, heard, max_heard = async_to_sync(scenario)()
    assert [(e["id"], e["draft"], e["status"]) for e in heard] == [(ticket_id, draft_id, "writing"),
                                                                 (ticket_id, draft_id, "ready")]
    assert max_heard["draft"] == "marker", "another viewer of the ticket heard of ana's draft"
    draft = draft_status(client, ticket_id)
    assert (draft["status"], draft["text"], draft["provider"], draft["model"]) == (
        "ready", GOOD_FRENCH_DRAFT, "openai", "scripted")
    assert draft["problems"] == [
        "openai: it declines to help or speaks of itself ('Je suis désolé, mais je ne peux pas'): answer the customer "
        "as the operator's customer service"]
    asked = draft_requests(fault_server)
    assert len(asked) == 2
    assert asked[1]["messages"][-1]["content"].startswith("That reply is not usable: it declines to help")
    assert (Tweet.objects.count(), Ticket.objects.get(id=ticket_id).version) == before  # nothing sent or stored

    # On load, the page shows the agent's latest draft in the reply box, until a reply is recorded.
    page = client.get(f"/tickets/{ticket_id}/").content.decode()
    assert f"{REPLY_BOX}{GOOD_FRENCH_DRAFT}</textarea>" in page
    assert "Draft by openai / scripted (refused before: openai: it declines to help" in page
    assert f">{GOOD_FRENCH_DRAFT}</textarea>" not in agent_client(max_).get(f"/tickets/{ticket_id}/").content.decode()
    client.post(f"/tickets/{ticket_id}/reply/", {"text": GOOD_FRENCH_DRAFT})
    assert f"{REPLY_BOX}</textarea>" in client.get(f"/tickets/{ticket_id}/").content.decode()


def test_a_worker_refuses_drafts_with_a_link_and_the_next_tier_writes_it(
        analysed, make_user, fault_server, second_fault_server, start_qcluster, refine_broker):
    ticket_id = analysed("my bill is wrong again")[0]
    fault_server.play(faults.LINK, faults.LINK)  # asked twice, a link both times: the next tier is tried
    # The local tier, pointed at the second scripted server (nothing to start: it answers).
    start_qcluster("refine", **worker_env(fault_server, DALLOSH_ANALYSIS_TIERS="openai,local",
                                          DALLOSH_LOCAL_MODEL="smollm2-135m",
                                          DALLOSH_LOCAL_MODEL_URL=second_fault_server.url))
    client = agent_client(make_user("bea", "billing"))
    assert client.post(f"/tickets/{ticket_id}/draft-reply/").status_code == 302
    draft = wait_ready(client, ticket_id, timeout=90)
    assert (draft["text"], draft["provider"], draft["model"]) == (
        "second draft: sorry about my bill is wrong again, please DM us.", "local", "smollm2-135m")
    link_problem = ("it carries a link or web address ('bit.ly/net-status'): never give links, invite the customer "
                    "to a direct message instead")
    assert draft["problems"] == [f"openai: {link_problem}", f"openai: {link_problem}"]
    assert len(draft_requests(fault_server)) == 2 and len(draft_requests(second_fault_server)) == 1


def test_the_ticket_page_fills_the_reply_box_live(browser, daphne_server, analysed, make_user, fault_server,
                                                  start_qcluster, refine_broker, tmp_path):
    from selenium.webdriver.common.by import By

    from tests.steps import live, log_in, text_of

    ticket_id = analysed(FRENCH_TWEET)[0]
    make_user("ana", "tech")
    fault_server.play(faults.DECLINE)
    log_in(browser, daphne_server, "ana")
    browser.get(f"{daphne_server}/tickets/{ticket_id}/")
    assert live(browser)
    browser.execute_script("window.sameLoad = true;")  # gone if the page reloads
    browser.find_element(By.ID, "draft-reply").click()
    # No worker yet: the draft waits in the queue, and the page says so.
    assert wait_for(lambda: text_of(browser, "draft-source"), until=lambda t: t == "Drafting…",
                    timeout=10) == "Drafting…"
    assert wait_for(lambda: ReplyDraft.objects.count(), until=lambda n: n == 1, timeout=10) == 1
    start_qcluster("refine", **worker_env(fault_server))
    box = browser.find_element(By.ID, "reply-text")
    filled = wait_for(lambda: box.get_attribute("value"), until=bool, timeout=90)
    browser.save_screenshot(str(tmp_path / "draft.png"))
    assert filled == GOOD_FRENCH_DRAFT
    assert browser.execute_script("return window.sameLoad === true;"), "the page reloaded"
    assert text_of(browser, "draft-source").startswith("Draft by openai / scripted (refused before: openai: it "
                                                       "declines to help")
