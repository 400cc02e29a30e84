"""Analysis reads (analysis/selectors.py): each tier's breaker state in chain order, the cost
ledger summed per provider and model over a range of days, the fast tier's heads (stored or
shipped), the analysis backlog, what the fast tier learns from (never its own answers), and
how often each tier agreed with agents' corrections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from analysis import health, selectors, services
from analysis.classifier import STARTER_FILE
from analysis.models import ClassifierVersion, CostLedgerDay
from ingestion.services import ingest_records
from tests.helpers import ScriptedHeads, twcs_record
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def test_each_tier_is_shown_in_chain_order_with_its_breaker_state(use_tiers):
    use_tiers(("openai", "http://127.0.0.1:9/v1"), ("local", "http://127.0.0.1:9/v1"),
              ("ollama", "http://127.0.0.1:9"))
    health.record_success("local")
    for _ in range(3):  # the fixtures' threshold
        health.record_failure("openai", "timeout: no answer in 2 s")
    shown = selectors.provider_status()
    assert [(s.tier, s.model, s.state) for s in shown] == [
        ("openai", "openai-model", "open"), ("local", "local-model", "closed"), ("ollama", "ollama-model", "unknown")]
    assert (shown[0].consecutive_failures, shown[0].last_failure) == (3, "timeout: no answer in 2 s")
    assert shown[0].open_until > datetime.now(UTC) and shown[1].last_success_at is not None


def line(day: str, provider: str, model: str, *, calls: int, cost: float) -> None:
    CostLedgerDay(id=f"{day}:{provider}:{model}", day=day, provider=provider, model=model, calls=calls, items=calls,
                  tokens_in=100 * calls, tokens_out=10 * calls, cost_usd=cost, unbatched_cost_usd=2 * cost).save()


def test_the_ledger_sums_each_provider_and_model_over_the_days_asked_for():
    line("2026-11-20", "openai", "gpt", calls=10, cost=1.0)
    line("2026-12-01", "openai", "gpt", calls=2, cost=0.5)
    line("2026-12-02", "openai", "gpt", calls=3, cost=0.25)
    line("2026-12-02", "local", "smollm", calls=1, cost=0.0)
    december = selectors.ledger_between(start=datetime(2026, 12, 1, tzinfo=UTC),
                                        end=datetime(2026, 12, 2, 23, tzinfo=UTC))
    assert december == [
        {"provider": "local", "model": "smollm", "calls": 1, "items": 1, "tokens_in": 100, "tokens_out": 10,
         "cost_usd": 0.0, "unbatched_cost_usd": 0.0},
        {"provider": "openai", "model": "gpt", "calls": 5, "items": 5, "tokens_in": 500, "tokens_out": 50,
         "cost_usd": 0.75, "unbatched_cost_usd": 1.5}]
    since_the_first = selectors.ledger_between(start=None, end=datetime(2026, 12, 1, tzinfo=UTC))
    assert [(row["provider"], row["calls"]) for row in since_the_first] == [("openai", 12)]
    assert [(day.day, day.provider) for day in selectors.ledger(days=2)] == [
        ("2026-12-02", "local"), ("2026-12-02", "openai"), ("2026-12-01", "openai")]


def test_the_fast_tier_shown_is_the_active_stored_version_else_the_shipped_heads(settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=False)
    assert selectors.fast_tier_status() is None
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True)
    shipped = json.loads(STARTER_FILE.with_suffix(".json").read_text(encoding="utf-8"))
    status = selectors.fast_tier_status()
    assert (status.version, status.encoder, status.shipped, status.sources) == (
        shipped["version"], "use-m", True, shipped["sources"])
    now = datetime.now(UTC)
    ClassifierVersion(version=41, created_at=now, blob_id=ObjectId(), active=False, sources={"refined": 5}).save()
    ClassifierVersion(version=42, created_at=now, blob_id=ObjectId(), active=True, activated_at=now, encoder="use-m",
                      sources={"correction": 12, "refined": 300}, accepted_share=0.8, agreement={"topic": 0.9}).save()
    status = selectors.fast_tier_status()
    assert (status.version, status.shipped, status.sources, status.sure_share, status.agreement) == (
        42, False, {"correction": 12, "refined": 300}, 0.8, {"topic": 0.9})
    assert [(row.version, row.active) for row in selectors.classifier_versions()] == [
        (42, True), (41, False), (shipped["version"], False)]


def test_the_backlog_counts_what_waits_for_each_tier_and_what_each_did_in_the_last_minute(fast_labelled):
    ingest_records(records=[twcs_record(n, f"question number {n} about my plan") for n in range(1, 4)],
                   source="twcs")
    _, doubted = fast_labelled("internet down at home", "no signal in Paris",
                               doubts={"no signal in Paris": {"topic": 0.4}})
    backlog = selectors.analysis_backlog()
    assert (backlog.awaiting_labelling, backlog.awaiting_refinement) == (3, 1)
    assert (backlog.labelled_last_minute, backlog.refined_last_minute) == (2, 0)
    services.analyse_tickets(ticket_ids=[doubted])
    backlog = selectors.analysis_backlog()
    assert (backlog.awaiting_refinement, backlog.labelled_last_minute, backlog.refined_last_minute) == (0, 1, 1)
    later = selectors.analysis_backlog(now=datetime.now(UTC) + timedelta(minutes=2))
    assert (later.labelled_last_minute, later.refined_last_minute, later.awaiting_labelling) == (0, 0, 3)


def label_today(*texts: str, doubts: dict) -> list[str]:
    """Tickets written in the last minutes, labelled by the scripted heads (tests/helpers.py):
    what the fast tier learns from is read one created day at a time, so recent tickets are
    read at once (fast_labelled's are from 2017)."""
    now = datetime.now(UTC)
    ingest_records(records=[twcs_record(900 + n, text, at=now - timedelta(minutes=5 - n))
                            for n, text in enumerate(texts)], source="twcs")
    ids = [f"twcs:{900 + n}" for n in range(len(texts))]
    assert sorted(services.label_tickets(ticket_ids=ids, heads=ScriptedHeads(doubts=doubts, said={})).analysed) == ids
    return ids


def test_the_fast_tier_learns_from_llm_refinements_and_corrections_never_from_itself(use_tiers, fault_server,
                                                                                       make_user):
    use_tiers(("openai", fault_server.url), fast=True)
    sure, doubted, corrected = label_today("internet down at home", "no signal in Paris",
                                           "where is my bill, charged twice",
                                           doubts={"no signal in Paris": {"topic": 0.4}})
    services.analyse_tickets(ticket_ids=[doubted])  # the LLM settles the topic alone
    ticket_services.correct_labels(ticket_id=corrected, user=make_user("ana", "billing"), sentiment="negative",
                                   topic="billing", urgency="high", actionable=False)
    learned = {e.id: (e.text, e.labels, e.source, e.weight, e.author) for e in selectors.training_examples()}
    assert learned == {
        doubted: ("no signal in Paris", {"topic": "network"}, "refined", 1.0, None),
        corrected: ("where is my bill, charged twice", {"sentiment": "negative", "topic": "billing", "urgency": "high",
                                                        "team": "billing", "actionable": "false"}, "correction", 3.0,
                    "ana")}
    assert sure not in learned, "the heads' own answer teaches them nothing"
    assert len(selectors.training_examples(limit=1)) == 1


def test_agreement_with_agents_is_counted_per_tier_and_field(analysed, make_user):
    # the scripted model: "my fibre is down" negative, network, high, actionable; "my bill is wrong"
    # neutral, billing, low, actionable
    fibre, bill = analysed("my fibre is down", "my bill is wrong")
    ana = make_user("ana", "tech", "billing")
    ticket_services.correct_labels(ticket_id=fibre, user=ana, sentiment="negative", topic="network", urgency="high",
                                   actionable=True)  # kept as it was: agreement
    ticket_services.correct_labels(ticket_id=bill, user=ana, sentiment="negative", topic="billing", urgency="medium",
                                   actionable=True)
    since = datetime.now(UTC) - timedelta(hours=1)
    overall = {(a.provider, a.field): (a.agreed, a.total) for a in
               selectors.agreement_with_agents(since=since, weekly=False)}
    assert overall == {("openai", "sentiment"): (1, 2), ("openai", "topic"): (2, 2), ("openai", "urgency"): (1, 2),
                       ("openai", "actionable"): (2, 2)}
    today = datetime.now(UTC)
    monday = (today - timedelta(days=today.weekday())).strftime("%Y-%m-%d")
    assert {a.period for a in selectors.agreement_with_agents(since=since)} == {monday}
    assert selectors.agreement_with_agents(since=today + timedelta(minutes=1)) == []
