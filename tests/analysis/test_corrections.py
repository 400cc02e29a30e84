"""Agents' corrections feed the prompts (few-shot, by similarity, within a budget) and are
measured: evaluate_analysis --from-corrections and the KPI page's agreement table."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from tickets import services

pytestmark = pytest.mark.django_db


def correct(ticket_id, user, **labels):
    return services.correct_labels(ticket_id=ticket_id, user=user, **{
        "sentiment": "negative", "topic": "network", "urgency": "high", "actionable": True, **labels})


def example_turns(request: dict) -> list[tuple[str, dict]]:
    messages = request["messages"]
    return [(m["content"], json.loads(messages[n + 1]["content"])) for n, m in enumerate(messages)
            if m["role"] == "user" and m["content"].startswith("Example corrected by an agent.")]


def test_a_similar_correction_is_shown_to_the_model_and_an_unrelated_one_is_not(analysed, make_user, fault_server,
                                                                                   settings):
    agent = make_user("max", role="manager")  # the scripted model sends these to several teams
    wifi, bill = analysed("the wifi box keeps rebooting every night", "my invoice shows a double charge")
    correct(wifi, agent, sentiment="negative", topic="technical", urgency="medium")
    correct(bill, agent, sentiment="negative", topic="billing", urgency="low")
    fault_server.play()
    analysed("my wifi box is rebooting again tonight")
    turns = example_turns(fault_server.requests[0])
    assert [text for text, _ in turns] == [
        "Example corrected by an agent. Tweet: the wifi box keeps rebooting every night\nJSON:"]
    assert turns[0][1]["topic"] == "technical" and turns[0][1]["team"] == "tech"
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fewshot_tokens=5)  # too small for any example
    fault_server.play()
    analysed("the wifi box is rebooting once more")
    assert example_turns(fault_server.requests[0]) == []


def test_a_withdrawn_correction_is_not_learned_from(analysed, make_user, fault_server):
    """Withdrawn, a correction teaches nothing: the fast tier's training takes the ticket as
    the LLM labelled it (as any refined ticket), the prompts stop showing it at once (this
    process's examples are forgotten on the announcement) and the agreement figures drop it."""
    from datetime import UTC, datetime, timedelta

    from analysis import selectors as analysis_selectors
    from tickets import selectors as ticket_selectors

    agent = make_user("max", role="manager")
    wifi, bill = analysed("the wifi box keeps rebooting every night", "my invoice shows a double charge")
    correct(wifi, agent, sentiment="negative", topic="technical", urgency="medium")
    correct(bill, agent, sentiment="negative", topic="billing", urgency="low")
    fault_server.play()
    analysed("my wifi box is rebooting again tonight")  # the correction is shown: the examples are cached
    assert len(example_turns(fault_server.requests[0])) == 1
    services.withdraw_correction(ticket_id=wifi, user=agent)

    examples = {example.id: example for example in analysis_selectors.training_examples()}
    assert (examples[bill].source, examples[bill].labels["topic"]) == ("correction", "billing")  # kept: taught
    assert examples[wifi].source == "refined", "the withdrawn correction is not among what the heads learn"
    assert [e for e in examples.values() if e.source == "correction"] == [examples[bill]]
    assert (examples[wifi].labels["topic"], examples[wifi].labels["sentiment"]) == ("other", "neutral")  # the LLM's
    since = datetime.now(UTC) - timedelta(days=1)
    assert [t["_id"] for t in ticket_selectors.corrected_tickets(since=since)] == [bill]
    fault_server.play()
    analysed("the wifi box is rebooting once more")
    assert example_turns(fault_server.requests[0]) == [], "the prompts no longer show the withdrawn correction"


def test_evaluate_from_corrections_scores_the_stored_answers_and_the_chain(analysed, make_user, fault_server):
    agent = make_user("max", role="manager")
    down, bill, thanks = analysed("internet down since noon", "my bill is wrong", "thanks for the quick fix")
    correct(down, agent, sentiment="negative", topic="network", urgency="high")  # the model said the same
    correct(bill, agent, sentiment="neutral", topic="billing", urgency="low")  # the model said the same
    correct(thanks, agent, sentiment="negative", topic="other", urgency="low")  # model: positive
    out = io.StringIO()
    call_command("evaluate_analysis", "--from-corrections", "--field", "sentiment", stdout=out)
    text = out.getvalue()
    # keyword rules: "down" → negative, "bill" → neutral, "thanks" → positive: 2 of 3 agree with the agents
    assert "openai      sentiment    66.7% (2/3)" in text and "openai      topic       100.0% (3/3)" in text
    assert "field: sentiment   tweets: 3" in text and "accuracy: 0.667" in text


def test_the_kpi_page_shows_agreement_with_agents(analysed, make_user):
    agent = make_user("ana", "tech")
    down = analysed("internet down since noon")[0]
    correct(down, agent, sentiment="negative", topic="technical", urgency="high")
    client = Client()
    client.force_login(make_user("max", role="manager"))
    exported = client.get("/kpis/?period=all&export=agreement").content.decode().splitlines()
    assert exported[0] == "tier,field,agreed with the agent,corrected,share"
    assert "openai,topic,0,1,0.0" in exported and "openai,sentiment,1,1,1.0" in exported
