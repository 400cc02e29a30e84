"""Analysis of tickets through the real stack: ingestion into MongoDB, the chain against the
scripted server, one atomic write per ticket with its routing, claims, leases, re-queues."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from analysis import refine_queue, services, work
from bench import llm_servers as faults
from bench.llm_servers import expected_labels
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tests.steps import queue_ids
from tickets import services as ticket_services
from tickets.models import RoutingRule, Ticket

TEXTS = {
    "c1": "my fibre is down since monday",
    "c2": "where is my bill for march? charged twice",
    "c3": "thanks, I love the new plan",
    "c4": "is the 5G offer open to existing customers",
}


@pytest.fixture
def tickets_awaiting(db):
    ingest_records(records=[twcs_record(str(n), text, author=author)
                            for n, (author, text) in enumerate(TEXTS.items(), 1)], source="twcs")
    tickets = list(Ticket.objects.order_by("customer"))
    assert [t.customer for t in tickets] == list(TEXTS) and all(t.needs_analysis for t in tickets)
    return [t.id for t in tickets]


def test_each_ticket_gets_its_own_analysis_and_route_in_one_write(use_tiers, fault_server, tickets_awaiting):
    use_tiers(("openai", fault_server.url), batch_size=4)
    run = services.analyse_tickets(ticket_ids=tickets_awaiting)
    assert sorted(run.analysed) == sorted(tickets_awaiting) and len(fault_server.requests) == 1
    for ticket in Ticket.objects.all():
        text = TEXTS[ticket.customer]
        expected = expected_labels(text)
        assert ticket.analysis.summary == f"first read: {text}"
        assert (ticket.analysis.sentiment, ticket.analysis.topic) == (expected["sentiment"], expected["topic"])
        team = {"network": "tech", "billing": "billing"}.get(expected["topic"], expected["team"])
        assert (ticket.team, ticket.urgency, ticket.routing_rule) == (team, expected["urgency"], None)
        assert ticket.analysis.provider == "openai" and ticket.analysis.model == "openai-model"
        assert ticket.analysis.batch_size == 4 and ticket.analysis.tokens_in > 0
        assert not ticket.needs_analysis and ticket.analysis_claim is None


def test_routing_rules_apply_when_the_analysis_is_written(use_tiers, fault_server, tickets_awaiting):
    RoutingRule.objects.create(name="double charges", priority=1, keywords="refund, charged twice",
                               route_to_team="billing", set_urgency="high")
    RoutingRule.objects.create(name="c4 is a vip", priority=2, author="c4", route_to_team="tech")
    use_tiers(("openai", fault_server.url))
    services.analyse_tickets(ticket_ids=tickets_awaiting)
    by_customer = {t.customer: t for t in Ticket.objects.all()}
    assert (by_customer["c2"].team, by_customer["c2"].urgency, by_customer["c2"].routing_rule) == (
        "billing", "high", "double charges")
    assert (by_customer["c4"].team, by_customer["c4"].routing_rule) == ("tech", "c4 is a vip")
    assert by_customer["c1"].routing_rule is None


def test_a_retried_task_writes_nothing_twice(use_tiers, fault_server, tickets_awaiting):
    use_tiers(("openai", fault_server.url))
    services.analyse_tickets(ticket_ids=tickets_awaiting)
    first = {t.id: t.analysis.analysed_at for t in Ticket.objects.all()}
    again = services.analyse_tickets(ticket_ids=tickets_awaiting)
    assert again.skipped == 4 and not again.analysed and len(fault_server.requests) == 4
    assert {t.id: t.analysis.analysed_at for t in Ticket.objects.all()} == first


def test_a_batch_answer_missing_an_item_requeues_that_ticket_alone(use_tiers, fault_server, tickets_awaiting,
                                                                     monkeypatch):
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: enqueued.append(args))
    use_tiers(("openai", fault_server.url), batch_size=4)
    fault_server.play(faults.MISSING_ITEM)
    run = services.analyse_tickets(ticket_ids=tickets_awaiting)
    assert len(run.analysed) == 3 and len(run.requeued) == 1
    missing = Ticket.objects.get(id=run.requeued[0])
    assert missing.needs_analysis and missing.analysis is None and missing.team is None, "half-written ticket"
    assert missing.analysis_solo and "missing from the batch answer" in missing.analysis_error
    assert work.enqueue_pending() == 1  # what the worker's task does next
    assert enqueued == [(work.ANALYSE_TASK, [missing.id], True)]
    services.analyse_tickets(ticket_ids=[missing.id], solo=True)
    missing.reload()
    assert missing.analysis.summary == f"first read: {TEXTS[missing.customer]}" and missing.analysis.batch_size == 1


def test_when_every_tier_fails_the_ticket_waits_unwritten_and_retries_later(use_tiers, fault_server,
                                                                          tickets_awaiting):
    use_tiers(("openai", fault_server.url))
    fault_server.play(default=faults.SERVER_ERROR)
    before = datetime.now(UTC)
    run = services.analyse_tickets(ticket_ids=tickets_awaiting[:1])
    assert run.failed == tickets_awaiting[:1]
    ticket = Ticket.objects.get(id=tickets_awaiting[0])
    assert ticket.needs_analysis and ticket.analysis is None and ticket.team is None
    assert ticket.analysis_failures == 1 and "server_error" in ticket.analysis_error
    assert ticket.analysis_queued_until.replace(tzinfo=UTC) >= before + timedelta(seconds=59)
    assert ticket.analysis_claim is None
    services.analyse_tickets(ticket_ids=tickets_awaiting[:1])  # a retry fails again: the wait doubles
    ticket.reload()
    assert ticket.analysis_failures == 2
    assert ticket.analysis_queued_until.replace(tzinfo=UTC) >= before + timedelta(seconds=119)


def test_new_customer_words_during_analysis_discard_the_stale_answer(use_tiers, fault_server, tickets_awaiting):
    use_tiers(("openai", fault_server.url))
    claim, held = work.claim_tickets(ticket_ids=tickets_awaiting[:1])
    ticket = Ticket.objects.get(id=tickets_awaiting[0])
    # the customer writes again in the same conversation while the worker is busy
    ingest_records(records=[twcs_record("99", "still down, I am angry", author=ticket.customer, minute=30,
                                        reply_to=float(ticket.id.split(":")[1]))], source="twcs")
    from analysis.chain import default_chain

    outcome = default_chain().analyse([services.Item(id=ticket.id, text="old text")]).analysed[ticket.id]
    assert not services.record_analysis(ticket=held[0], claim=claim, outcome=outcome, text="old text")
    ticket.reload()
    assert ticket.needs_analysis and ticket.analysis is None and ticket.customer_tweet_count == 2


def test_the_overview_shows_queues_provider_state_and_cost(admin_client, use_tiers, fault_server, tickets_awaiting):
    use_tiers(("openai", fault_server.url), batch_size=4, price_in_per_mtok=1.0)
    services.analyse_tickets(ticket_ids=tickets_awaiting)
    page = admin_client.get("/").content.decode()
    teams = [expected_labels(text)["topic"] for text in TEXTS.values()]
    tech = sum(topic == "network" for topic in teams)
    # The open-tickets table: team, then new, in progress, waiting on customer.
    assert f'<a href="/queues/tech/">Tech</a></td><td>{tech}</td><td>0</td><td>0</td>' in page
    assert "<td>openai</td><td>openai-model</td>" in page and "answering" in page
    prompt_tokens = sum(len(m["content"]) for m in fault_server.requests[0]["messages"]) // 4
    assert f"<td>{prompt_tokens} / " in page


def test_the_llm_settles_the_fast_tiers_doubt_unless_it_disagrees_on_a_held_ticket(fast_labelled, make_user):
    """Ticket.unsure, written with each answer: the fast tier's doubts put a ticket in the
    queue's "unsure" view; the LLM re-labelling it, or agreeing with it on a ticket an agent
    holds, takes it out; disagreeing on a held one keeps it there, its answer a suggestion."""
    refined, agreed, disputed, sure = fast_labelled(
        "fibre down in Lyon", "no signal in Paris", "where is my bill, charged twice", "internet down at home",
        doubts={"fibre down in Lyon": {"urgency": 0.5}, "no signal in Paris": {"topic": 0.4},
                "where is my bill, charged twice": {"topic": 0.45}},
        said={"where is my bill, charged twice": {"topic": "network", "team": "tech"}})  # the scripted LLM: billing
    assert {t.id: t.unsure for t in Ticket.objects(id__in=[refined, agreed, disputed, sure])} == {
        refined: True, agreed: True, disputed: True, sure: False}
    agent = make_user("ana", "tech")
    for held in (agreed, disputed):
        ticket_services.claim_ticket(ticket_id=held, user=agent)
    run = services.analyse_tickets(ticket_ids=[refined, agreed, disputed])
    assert sorted(run.analysed) == sorted([refined, agreed, disputed])
    after = {t.id: t for t in Ticket.objects(id__in=[refined, agreed, disputed])}
    assert after[refined].analysis.provider == "openai" and not after[refined].unsure
    assert after[agreed].analysis.provider == "fast" and not after[agreed].analysis.suggestion
    assert not after[agreed].unsure
    assert after[disputed].analysis.suggestion["topic"] == "billing" and after[disputed].unsure
    assert queue_ids("tech", unsure=True) == [disputed]


# --- which doubted fields go to the LLM: the tiers' scorecards (analysis/scorecards.py) ----------


def store_scorecard(tier: str, accuracy: dict[str, float]) -> None:
    """The LLM tier's scorecard for the model the fixtures configure ("<tier>-model") at the
    current prompt version, as `manage.py score_tiers` stores it."""
    from analysis import prompts, scorecards
    from analysis.models import TierScorecard

    version = prompts.prompt_version()
    TierScorecard(id=f"{tier}:{tier}-model:{version}", tier=tier, model=f"{tier}-model", prompt_version=version,
                  sample="labelled-v1:300", measured_at=datetime.now(UTC), tweets=300, accuracy=accuracy).save()
    scorecards.forget_cache()


def test_a_tier_with_a_worse_scorecard_gets_nothing_queued(fast_labelled, fault_server, make_user, admin_client):
    """The heads' probability is their expected accuracy at that confidence: a tier measured
    below it on every doubted field is asked nothing, and the doubt waits for a person."""
    from analysis.selectors import analysis_backlog

    store_scorecard("openai", {"sentiment": 0.55, "topic": 0.55, "urgency": 0.55, "team": 0.55, "actionable": 0.55})
    [ticket_id] = fast_labelled("no signal in Paris", doubts={"no signal in Paris": {"topic": 0.6, "urgency": 0.7}})
    ticket = Ticket.objects.get(id=ticket_id)
    assert not ticket.needs_refinement and ticket.refine_rank is None
    assert ticket.analysis.unsure == ["topic", "urgency"] and ticket.analysis.refine_fields == []
    assert ticket.analysis.refine_basis["topic"] == {"tier": "openai", "expected": 0.55, "head": 0.6,
                                                     "better": False}
    assert ticket.unsure and ticket.no_better_tier, "still unsure for people: no tier settles it"
    assert queue_ids("tech", unsure=True) == [ticket_id]
    assert refine_queue.due(limit=10, now=datetime.now(UTC)) == []
    assert services.analyse_tickets(ticket_ids=[ticket_id]).skipped == 1 and fault_server.requests == []
    assert analysis_backlog().unsure_not_queued == 1 and analysis_backlog().awaiting_refinement == 0
    overview = " ".join(admin_client.get("/").content.decode().split())
    assert ("<strong>1</strong> unsure tickets queued for no LLM: no tier is expected to beat the heads on their "
            "doubted fields") in overview
    agent = make_user("ana", "tech")
    page = Client()
    page.force_login(agent)
    html = " ".join(page.get(f"/tickets/{ticket_id}/").content.decode().split())
    assert ("for an agent to check</strong> (unsure of topic, urgency: no LLM tier is expected to answer better "
            "than the heads)") in html
    ticket_services.correct_labels(ticket_id=ticket_id, user=agent, sentiment="neutral",
                                   topic="network", urgency="medium", actionable=True)
    assert analysis_backlog().unsure_not_queued == 0, "an agent settled it"
    assert queue_ids("tech", unsure=True) == []


def test_a_better_scorecard_queues_the_doubted_fields_and_the_llm_replaces_only_those(fast_labelled, db):
    store_scorecard("openai", {"sentiment": 0.5, "topic": 0.9, "urgency": 0.5, "team": 0.5, "actionable": 0.5})
    text = "where is my bill, charged twice"  # the scripted LLM: neutral, billing, low, billing, actionable
    heads = {"sentiment": "negative", "topic": "network", "urgency": "high", "team": "tech", "actionable": True}
    [ticket_id] = fast_labelled(text, doubts={text: {"sentiment": 0.7, "topic": 0.6, "urgency": 0.6}},
                                said={text: heads})
    fast = Ticket.objects.get(id=ticket_id)
    assert fast.needs_refinement and fast.analysis.refine_fields == ["topic"]
    assert fast.analysis.unsure == ["sentiment", "topic", "urgency"], "every doubt is still shown to people"
    assert fast.analysis.refine_basis["topic"] == {"tier": "openai", "expected": 0.9, "head": 0.6, "better": True}
    assert fast.unsure and not fast.no_better_tier and fast.team == "tech"
    assert services.analyse_tickets(ticket_ids=[ticket_id]).analysed == [ticket_id]
    refined = Ticket.objects.get(id=ticket_id)
    answer = refined.analysis
    assert answer.provider == "openai" and answer.topic == "billing", "the LLM's topic"
    assert (answer.sentiment, answer.urgency, answer.actionable) == ("negative", "high", True), "the heads' labels"
    assert (answer.confidence["sentiment"], answer.confidence["urgency"]) == (0.7, 0.6)
    assert answer.fast_labels["topic"] == "network" and answer.refine_fields == ["topic"]
    assert (refined.team, refined.urgency, refined.topic, refined.sentiment) == ("billing", "high", "billing",
                                                                                 "negative")
    # The doubts on sentiment and urgency stand: no tier is expected to settle them.
    assert answer.unsure == ["sentiment", "urgency"] and refined.unsure and refined.no_better_tier
    assert not refined.needs_refinement and queue_ids("billing", unsure=True) == [ticket_id]


def test_an_unmeasured_tier_is_assumed_better_and_that_is_recorded(fast_labelled, db):
    [ticket_id] = fast_labelled("no signal in Paris", doubts={"no signal in Paris": {"topic": 0.6}})
    ticket = Ticket.objects.get(id=ticket_id)
    assert ticket.needs_refinement and ticket.analysis.refine_fields == ["topic"] and ticket.unsure
    assert ticket.analysis.refine_basis["topic"] == {"tier": "openai", "expected": "assumed", "head": 0.6,
                                                     "better": True}
    assert not ticket.no_better_tier
