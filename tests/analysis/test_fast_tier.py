"""The fast tier on the real embedding model (USE multilingual from its wheel): every ticket
labelled and routed at once with no LLM running, the unsure ones refined by the LLM and
re-routed (or left as a suggestion when an agent holds them), training that keeps only a
better version, and the work queue's queries on indexes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis import classifier, refine_queue, services, work
from analysis.classifier import NEVER, Example
from bench.llm_servers import expected_labels
from ingestion.services import ingest_records
from tickets import services as ticket_services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

FIELDS = ("sentiment", "topic", "urgency", "team", "actionable")


def ingest(*texts: str, first: int = 1) -> list[str]:
    records = [{"tweet_id": str(first + n), "author_id": f"customer{first + n}", "inbound": True, "text": text,
                "created_at": f"Tue Oct 31 10:{n:02d}:00 +0000 2017", "response_tweet_id": "",
                "in_response_to_tweet_id": None} for n, text in enumerate(texts)]
    ingest_records(records=records, source="twcs")
    return [f"twcs:{first + n}" for n in range(len(texts))]


# Heads taught the opposite of the scripted LLM on bills (network, tech, high), so the test
# knows where the two disagree without asking either.
WRONG_ON_BILLS = {"sentiment": "positive", "topic": "network", "urgency": "high", "team": "tech",
                  "actionable": "false"}
RIGHT_ON_THANKS = {"sentiment": "negative", "topic": "other", "urgency": "low", "team": "commercial",
                   "actionable": "true"}


@pytest.fixture
def unsure_heads() -> classifier.Classifier:
    examples = [Example(id=f"b{n}", text=f"where is my bill number {n}, the invoice is wrong", labels=WRONG_ON_BILLS)
                for n in range(6)]
    examples += [Example(id=f"t{n}", text=f"hello, a question about my account number {n}", labels=RIGHT_ON_THANKS)
                 for n in range(6)]
    heads = classifier.fit(examples)
    heads.thresholds = {f: NEVER for f in FIELDS}  # sure of nothing: every ticket goes on to the LLM
    return heads


def test_the_starter_heads_label_and_route_every_ticket_with_no_llm_running(settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(tiers=[], fast_tier=True)
    classifier.forget_cache()
    ids = ingest("my fibre is down since this morning, no internet at all",
                 "la box ne s'allume plus depuis ce matin",
                 "I was charged twice on my last bill, please refund me")
    run = services.label_tickets(ticket_ids=ids)
    assert sorted(run.analysed) == sorted(ids)
    for ticket in Ticket.objects(id__in=ids):
        assert not ticket.needs_analysis and ticket.team in {"tech", "billing", "commercial"}
        assert ticket.routed_at is not None and ticket.sla_due_at is not None
        assert ticket.analysis.provider == "fast" and ticket.analysis.model.startswith("use-m-heads-v")
        assert set(ticket.analysis.confidence) == set(FIELDS)
        assert all(0 < p <= 1 for p in ticket.analysis.confidence.values())
        # No LLM tier to beat the heads: nothing is queued, and the doubts wait for a person.
        assert not ticket.needs_refinement and ticket.analysis.refine_fields == []
        assert bool(ticket.unsure) == bool(ticket.no_better_tier) == bool(ticket.analysis.unsure)
    outage = Ticket.objects.get(id=ids[0])
    assert outage.team == "tech" and outage.analysis.sentiment == "negative"


def test_an_unsure_ticket_is_refined_by_the_llm_and_re_routed(use_tiers, fault_server, unsure_heads):
    use_tiers(("openai", fault_server.url), fast=True)
    [ticket_id] = ingest("where is my bill for march, charged twice")
    services.label_tickets(ticket_ids=[ticket_id], heads=unsure_heads)
    fast = Ticket.objects.get(id=ticket_id)
    assert fast.team == "tech" and fast.analysis.topic == "network"  # what the heads were taught
    assert fast.needs_refinement and set(fast.analysis.unsure) == set(FIELDS) and fast.refine_rank == 0
    assert [t["_id"] for t in refine_queue.due(limit=10, now=datetime.now(UTC))] == [ticket_id]
    run = services.analyse_tickets(ticket_ids=[ticket_id])
    assert run.analysed == [ticket_id]
    refined = Ticket.objects.get(id=ticket_id)
    expected = expected_labels(refined.analysis.input_text)
    assert (refined.analysis.topic, refined.team) == (expected["topic"], "billing")
    assert refined.analysis.provider == "openai" and refined.analysis.fast_labels["team"] == "tech"
    assert not refined.needs_refinement and refined.audit[-1].action == "refined"


def test_an_agent_holding_the_ticket_sees_the_llm_suggestion_instead(use_tiers, fault_server, unsure_heads,
                                                                     make_user):
    use_tiers(("openai", fault_server.url), fast=True)
    [ticket_id] = ingest("where is my bill for march, charged twice")
    services.label_tickets(ticket_ids=[ticket_id], heads=unsure_heads)
    agent = make_user("tech-agent", "tech")
    ticket_services.claim_ticket(ticket_id=ticket_id, user=agent)
    services.analyse_tickets(ticket_ids=[ticket_id])
    held = Ticket.objects.get(id=ticket_id)
    assert held.assignee == "tech-agent" and held.team == "tech" and held.analysis.provider == "fast"
    assert held.analysis.suggestion["team"] == "billing" and held.analysis.suggestion["provider"] == "openai"
    assert not held.needs_refinement
    page = pytest.importorskip("django.test").Client()
    page.force_login(agent)
    html = page.get(f"/tickets/{ticket_id}/").content.decode()
    assert "Suggested by openai" in html and "billing" in html


def winning_stages(cursor) -> str:
    plan = cursor.explain()
    return repr(plan.get("queryPlanner", plan).get("winningPlan", plan))


def test_the_work_queue_reads_by_index_not_by_scan(use_tiers, fault_server):
    use_tiers(("openai", fault_server.url))
    tickets = Ticket._get_collection()
    claim_plan = winning_stages(tickets.find({"analysis_claim": "some-claim"}))
    assert "IXSCAN" in claim_plan and "analysis_claim" in claim_plan
    refine_plan = winning_stages(tickets.find({"needs_refinement": True, "refine_rank": 0,
                                               "created_at": {"$gte": services.EPOCH}}))
    assert "IXSCAN" in refine_plan and "needs_refinement" in refine_plan
    pending_plan = winning_stages(tickets.find({"needs_analysis": True,
                                                "analysis_queued_until": {"$lte": services.EPOCH}}))
    assert "IXSCAN" in pending_plan and "needs_analysis" in pending_plan
    unnoted_plan = winning_stages(tickets.find({"refine_unnoted": {"$gt": ""}}))
    assert "IXSCAN" in unnoted_plan and "refine_unnoted" in unnoted_plan


def test_a_conversation_of_several_tweets_gets_a_summary_in_the_background(use_tiers, fault_server, monkeypatch):
    use_tiers(("openai", fault_server.url), fast=True)
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: enqueued.append((args, kw)))
    heads = classifier.starter()
    heads.thresholds = {f: 0.0 for f in FIELDS}  # sure: unsure tickets get theirs when the LLM refines them
    [single] = ingest("my fibre is down since this morning")
    records = [{"tweet_id": "50", "author_id": "talker", "inbound": True, "text": "my bill is wrong",
                "created_at": "Tue Oct 31 11:00:00 +0000 2017", "response_tweet_id": "",
                "in_response_to_tweet_id": None},
               {"tweet_id": "51", "author_id": "talker", "inbound": True, "text": "still no answer about my bill",
                "created_at": "Tue Oct 31 11:05:00 +0000 2017", "response_tweet_id": "",
                "in_response_to_tweet_id": 50.0}]
    ingest_records(records=records, source="twcs")
    services.label_tickets(ticket_ids=[single, "twcs:50"], heads=heads)
    summaries = [args for args, kw in enqueued if args[0] == work.SUMMARY_TASK]
    assert summaries == [(work.SUMMARY_TASK, ["twcs:50"])]  # the one-tweet ticket shows its own words
    assert services.summarise_tickets(ticket_ids=["twcs:50"]) == 1
    ticket = Ticket.objects.get(id="twcs:50")
    assert ticket.analysis.summary.startswith("first summary: my bill is wrong / still no answer")  # the server's name
    assert Ticket.objects.get(id=single).analysis.summary == ""


def test_the_overview_shows_the_fast_tier_and_the_analysis_backlog(admin_client, settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True)
    classifier.forget_cache()
    ids = ingest("my fibre is down", "ma facture est fausse", "where is my parcel")
    services.label_tickets(ticket_ids=ids[:2])
    page = admin_client.get("/").content.decode()
    assert "<strong>1</strong> tickets awaiting labelling (2 labelled in the last minute)" in " ".join(page.split())
    assert f"Fast tier: use-m heads v{classifier.starter().version} (shipped with Dallosh)" in page


def test_a_ticket_the_heads_are_sure_of_is_final_and_its_llm_call_is_counted_as_saved(use_tiers, fault_server,
                                                                                      unsure_heads):
    from analysis.models import CostLedgerDay

    use_tiers(("openai", fault_server.url), fast=True)
    unsure_heads.thresholds = {f: 0.0 for f in FIELDS}  # sure of everything
    [ticket_id] = ingest("where is my bill for march, charged twice")
    services.label_tickets(ticket_ids=[ticket_id], heads=unsure_heads)
    ticket = Ticket.objects.get(id=ticket_id)
    assert not ticket.needs_refinement and ticket.analysis.unsure == [] and ticket.team == "tech"
    assert refine_queue.due(limit=10, now=datetime.now(UTC)) == []
    saved = CostLedgerDay.objects.get(provider="fast")
    assert saved.items == 1 and saved.llm_calls_saved == 1 and saved.tokens_saved > 0
    assert fault_server.requests == []


def test_a_ticket_a_person_re_routed_stays_there_through_refinement_and_new_words(use_tiers, fault_server,
                                                                                 unsure_heads, make_user):
    """The machine may only suggest: neither the pending refinement nor the fast labels of
    the customer's next tweet move a ticket a person sent to a team."""
    use_tiers(("openai", fault_server.url), fast=True)
    [ticket_id] = ingest("where is my bill for march, charged twice")
    services.label_tickets(ticket_ids=[ticket_id], heads=unsure_heads)
    assert Ticket.objects.get(id=ticket_id).needs_refinement
    ticket_services.reroute_ticket(ticket_id=ticket_id, user=make_user("ana", "tech"), team="commercial")
    services.analyse_tickets(ticket_ids=[ticket_id])
    refined = Ticket.objects.get(id=ticket_id)
    assert (refined.team, refined.status, refined.assignee) == ("commercial", "new", None)
    assert refined.analysis.suggestion["team"] == "billing" and not refined.needs_refinement
    ingest_records(records=[{"tweet_id": "2", "author_id": "customer1", "inbound": True, "text": "and my bill again",
                             "created_at": "Tue Oct 31 11:00:00 +0000 2017", "response_tweet_id": "",
                             "in_response_to_tweet_id": "1"}], source="twcs")
    services.label_tickets(ticket_ids=[ticket_id], heads=unsure_heads)
    assert Ticket.objects.get(id=ticket_id).team == "commercial"
