"""Analysis writes: the fast tier labels and routes every ticket at once; the LLM chain
refines, in the background, the tickets the fast tier is unsure of.

Two work queues, on two django-q2 clusters apart from the housekeeping one:
- labelling (`label`): tickets awaiting analysis (`needs_analysis`) are labelled by the
  fast tier (analysis/classifier.py) and routed in the same write, hundreds a second;
- refinement (`refine`): tickets with a field below its threshold that some LLM tier is
  expected to answer better than the heads (`needs_refinement`; analysis/scorecards.py
  decides which fields), most urgent and oldest first, go down the provider chain; when the
  LLM disagrees on those fields the ticket is re-labelled and re-routed, unless an agent
  holds it: then its answer is left as a suggestion. A doubt no tier is expected to settle
  is queued nowhere: it waits for a person. With no fast tier (DALLOSH_FAST_TIER=off) the
  chain labels tickets itself.

A worker takes tickets with a claim and a lease (`analysis_claim`, `analysis_lease_until`),
renewed while it works; one that dies loses nothing: its leases run out and the sweeper
hands the tickets out again. An answer is written only while its worker's claim still
stands, in one single-document update with its routing, so a ticket is analysed completely
or not at all, never by two workers, and never with an answer about text that has changed.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings

from analysis import classifier, guard, refine_queue, scorecards, summaries, work
from analysis.chain import Outcome, ProviderChain, default_chain, record_saving, tier_configs
from analysis.prompts import Item
from dallosh.mongo import as_utc
from dallosh.vocabulary import doubts_left_to_people, unsure_in_force
from ingestion.selectors import customer_words
from ingestion.store import MODEL_TEXT, tweets_by_ids
from tickets import routing, store
from tickets.audit import AuditAction
from tickets.models import EPOCH, TicketStatus
from tickets.routing import routed_fields
from tickets.services import Change, apply_change, apply_changes
from tickets.store import TicketRow

logger = logging.getLogger(__name__)



@dataclass
class AnalysisRun:
    analysed: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)  # to be analysed alone
    failed: list[str] = field(default_factory=list)  # every tier failed: retried later
    superseded: list[str] = field(default_factory=list)  # text changed or claim lost meanwhile
    skipped: int = 0  # not claimable: already analysed, or held by another worker
    unsure: int = 0  # labelled by the fast tier, queued for refinement (some doubted field an LLM does better)


def _config() -> dict:
    return settings.DALLOSH_ANALYSIS


# --- the fast tier: every ticket labelled and routed at once -------------------------------


def label_tickets(*, ticket_ids: list[str], heads: classifier.Classifier | None = None) -> AnalysisRun:
    """Label these tickets with the fast tier and route them in one bulk write; the unsure
    ones are queued for refinement on the fields some LLM tier is expected to answer better
    (analysis/scorecards.fields_to_refine). Without heads (the fast tier off), the tickets
    go to the LLM chain."""
    heads = heads or classifier.active()
    if heads is None:
        return analyse_tickets(ticket_ids=ticket_ids)
    now = datetime.now(UTC)
    held = [t for t in store.get_many(ticket_ids, projection=store.Projection.WORKING)
            if t.get("needs_analysis") and t.get("status") != TicketStatus.MERGED
            and as_utc(t.get("analysis_lease_until") or EPOCH) <= now]
    run = AnalysisRun(skipped=len(ticket_ids) - len(held))
    if not held:
        return run
    texts = _customer_texts(held)
    started = time.perf_counter()
    predictions = heads.predict([texts.get(t["_id"], "") for t in held])
    latency_ms = round((time.perf_counter() - started) * 1000 / len(held))
    rules, changes = routing.active_rules(), []
    for ticket, prediction in zip(held, predictions, strict=True):
        outcome = Outcome(analysis=prediction.analysis(), provider=classifier.TIER, model=heads.name,
                          tokens_in=0, tokens_out=0, latency_ms=latency_ms, attempts=1, batch_size=len(held),
                          fallbacks=[], confidence=prediction.confidence, unsure=prediction.unsure_fields)
        fields, _action, details = _analysis_changes(ticket, outcome, text=texts.get(ticket["_id"], ""),
                                                     rules=rules, now=now)
        changes.append(Change(ticket=ticket, fields=fields, details=details))
    # No claim: a batch takes about a second, and each write is conditioned on the version
    # read above, so a ticket that changed meanwhile (new words, an LLM worker) is left as is.
    written = apply_changes(changes=changes, by="system:analysis", action=AuditAction.ANALYSED, now=now)
    refine_queue.note_due(written)
    sure = [Item(id=t["_id"], text=texts.get(t["_id"], "")) for t in written if not t.get("needs_refinement")]
    configs = tier_configs()
    record_saving(sure, model=heads.name, first_tier=configs[0] if configs else None)
    run.analysed = [t["_id"] for t in written]
    run.superseded = sorted({t["_id"] for t in held} - set(run.analysed))
    run.unsure = sum(bool(t.get("needs_refinement")) for t in written)
    _enqueue_summaries(written, texts)
    return run


def _enqueue_summaries(tickets: list[dict], texts: dict[str, str]) -> None:
    """Summaries for the sure tickets worth one, on the refinement cluster (in the
    background), and for the unsure ones no LLM tier is queued for; a ticket queued for
    refinement gets its summary when the LLM refines it, so summaries never hold refinement up."""
    from django_q.tasks import async_task

    wanted = [t["_id"] for t in tickets if not t.get("needs_refinement") and _worth_a_summary(t, texts)]
    if wanted and work.waiting_tasks(work.REFINE_CLUSTER) < _config().max_waiting_tasks * 4:
        async_task(work.SUMMARY_TASK, wanted, cluster=work.REFINE_CLUSTER, group="summaries")


def _worth_a_summary(ticket: dict, texts: dict[str, str]) -> bool:
    return summaries.worth_summarising(text=texts.get(ticket["_id"], ""),
                                       customer_tweets=ticket.get("customer_tweet_count") or 0)


def summarise_tickets(*, ticket_ids: list[str]) -> int:
    """Write a summary on each ticket that still has none, unless its text changed meanwhile."""
    written = 0
    for ticket in store.get_many(ticket_ids, projection=store.Projection.WORKING):
        analysis = ticket.get("analysis") or {}
        if analysis.get("summary") or not analysis.get("input_text"):
            continue
        found = summaries.summarise(analysis["input_text"])
        if found is None:
            continue
        summary, provider = found
        with store.skipping_unwritable("summaries"):
            written += apply_change(ticket=ticket, changes={"analysis.summary": summary}, by="system:analysis",
                                    action=AuditAction.SUMMARISED, details={"provider": provider},
                                    condition={"analysis.input_text": analysis["input_text"]}) is not None
    return written


# --- the LLM chain: refinement (and labelling when the fast tier is off) -------------------


def analyse_tickets(*, ticket_ids: list[str], solo: bool = False, chain: ProviderChain | None = None,
                    before_call: Callable[[], object] | None = None) -> AnalysisRun:
    """Claim, analyse down the provider chain and write these tickets (awaiting analysis or
    refinement); the unit of work of one refinement task. `before_call` runs before each
    LLM call, the claim's lease renewed meanwhile."""
    claim, held = work.claim_tickets(ticket_ids=ticket_ids, refine=True)
    run = AnalysisRun(skipped=len(ticket_ids) - len(held))
    if not held:
        return run
    texts = _customer_texts(held)
    items = [Item(id=t["_id"], text=texts.get(t["_id"], ""), language=t.get("language")) for t in held]
    rules = routing.active_rules()
    by_id = {t["_id"]: t for t in held}

    def write(ticket_id: str, outcome: Outcome) -> None:
        """Each answer is written the moment it is valid: a slow batch never hides finished tickets."""
        written = record_analysis(ticket=by_id[ticket_id], claim=claim, outcome=outcome,
                                  text=texts.get(ticket_id, ""), rules=rules)
        (run.analysed if written else run.superseded).append(ticket_id)

    with work.renewing(claim):
        result = (chain or default_chain(llm_only=True)).analyse(items, solo=solo, on_analysed=write,
                                                                 before_call=before_call)
    requeued, failed = work.release(result, by_id, claim)
    run.requeued += requeued
    run.failed += failed
    summarise_tickets(ticket_ids=[i for i in run.analysed if _worth_a_summary(by_id[i], texts)])
    return run


def record_analysis(*, ticket: dict, claim: str, outcome: Outcome, text: str,
                    rules: list | None = None, now: datetime | None = None) -> bool:
    """Write the answer, its routing and SLA in one update, only while `claim` still holds.

    The ticket is read again first: agents may have worked it since the claim. One that an
    agent already holds keeps its team and urgency (re-routing it is a person's decision):
    an LLM that disagrees with the fast tier's labels there leaves its answer as a
    suggestion. Labels an agent corrected stay the ones the queue shows.
    """
    now = now or datetime.now(UTC)
    for _ in range(5):
        current = store.get(ticket["_id"], projection=store.Projection.WORKING, where={"analysis_claim": claim})
        if current is None:
            return False  # the claim was lost: new tweets arrived, or the lease ran out
        changes, action, details = _analysis_changes(current, outcome, text=text, rules=rules, now=now)
        written = None
        with store.skipping_unwritable("analysis"):
            written = apply_change(ticket=current, changes=changes, by="system:analysis", action=action,
                                   details=details, condition={"analysis_claim": claim}, now=now)
        if written is not None:
            refine_queue.note_due([written])
            return True
    return False


def _analysis_changes(current: dict, outcome: Outcome, *, text: str, rules: list | None,
                      now: datetime) -> tuple[dict, str, dict]:
    """What an answer changes on the ticket as it stands, the audit action and its details.
    Decided here, in the same write: which doubted fields go on to the LLM (those some tier
    is expected to answer better than the heads, analysis/scorecards.py), which fields of an
    LLM's answer are taken (those it was handed and answers better: the fast labels stand
    for the others), and whether the machine is unsure of the labels in force
    (Ticket.unsure), so the queue's "unsure" view never shows an answer the ticket no longer has."""
    analysis = outcome.analysis
    done = {"needs_analysis": False, **work.RELEASED, "analysis_queued_until": EPOCH, "analysis_solo": False,
            "analysis_failures": 0, "analysis_error": None, "needs_refinement": None, "refine_rank": None,
            "refine_queued_until": None, **refine_queue.NOTED}
    previous = current.get("analysis") or {}
    fast_before = previous.get("provider") == classifier.TIER and outcome.provider != classifier.TIER
    taken = _settled_by(current, outcome) if fast_before else list(classifier.FIELDS)
    if fast_before and not routing.machine_may_route(current):
        differs = {f: getattr(analysis, f) for f in taken if previous.get(f) != getattr(analysis, f)}
        suggestion = {**differs, "provider": outcome.provider, "model": outcome.model, "at": now} if differs else {}
        kept = {**previous, "suggestion": suggestion, "refine_fields": taken}
        unsure = unsure_in_force(kept, current.get("correction"), refining=False)
        return ({**done, "analysis.suggestion": suggestion, "analysis.refine_fields": taken, "unsure": unsure,
                 "no_better_tier": unsure and bool(doubts_left_to_people(kept))}, AuditAction.REFINED,
                {"provider": outcome.provider, "suggestion": bool(differs), "refine_fields": taken})
    confidence, doubts, queued, basis = outcome.confidence, outcome.unsure, [], {}
    if fast_before:  # the fast labels stand where the LLM was not asked, or is not expected to do better
        analysis = dataclasses.replace(analysis, **{f: previous[f] for f in classifier.FIELDS
                                                    if f not in taken and f in previous})
        confidence = {**{f: p for f, p in (previous.get("confidence") or {}).items() if f not in taken},
                      **{f: p for f, p in outcome.confidence.items() if f in taken}}
        doubts = [f for f in previous.get("unsure") or [] if f not in taken]
    elif outcome.provider == classifier.TIER:
        queued, basis = scorecards.fields_to_refine(unsure=doubts, confidence=confidence)
    route = routing.decide_route(analysis=routing.in_force(analysis, current.get("correction")), text=text,
                                 language=current.get("language"),
                                 author=current.get("customer"), rules=rules)
    answer = outcome.record(analysis=analysis, text=text, now=now, confidence=confidence, unsure=doubts,
                            refine_fields=taken if fast_before else queued, refine_basis=basis,
                            review_flag=guard.review_flag(text=text, analysis=analysis))
    if fast_before:
        answer["fast_labels"] = {f: previous.get(f) for f in classifier.FIELDS}
    if not answer["summary"] and previous.get("input_text") == text:
        answer["summary"] = previous.get("summary") or ""  # written apart meanwhile: still true
    unsure = unsure_in_force(answer, current.get("correction"), refining=bool(queued))
    changes = {**done, "analysis": answer, "unsure": unsure,
               "no_better_tier": unsure and not queued and bool(doubts_left_to_people(answer))}
    if queued:
        changes |= refine_queue.due_fields(urgency=route.urgency)
    if not current.get("correction"):
        changes |= {"topic": analysis.topic, "sentiment": analysis.sentiment}
    if routing.machine_may_route(current):
        changes |= routed_fields(ticket=current, route=route, now=now)
    return changes, AuditAction.REFINED if fast_before else AuditAction.ANALYSED, {
        "provider": outcome.provider, "model": outcome.model, "team": changes.get("team"),
        "urgency": changes.get("urgency"), "rule": route.rule, "refine_fields": answer["refine_fields"]}


def _settled_by(current: dict, outcome: Outcome) -> list[str]:
    """The fields an LLM answer settles on a fast-labelled ticket: on a refinement, those it
    was handed where the tier that answered is expected to beat the heads (the chain may
    have fallen back to one that is not); every field on new words (the fast labels are of
    an older text) or on an analysis queued before scorecards (every doubt was handed on)."""
    previous = current.get("analysis") or {}
    handed = previous.get("refine_fields")
    if current.get("needs_analysis") or handed is None:
        return list(classifier.FIELDS)
    return scorecards.better_fields(tier=outcome.provider, fields=handed, confidence=previous.get("confidence") or {})


def _customer_texts(tickets: list[TicketRow]) -> dict[str, str]:
    """Each ticket's text for the model: its customer's own tweets, cleaned, in order."""
    tweet_ids = [tweet_id for t in tickets for tweet_id in t.get("tweet_ids", [])]
    tweets = sorted(tweets_by_ids(tweet_ids, projection=MODEL_TEXT), key=lambda t: (t["created_at"], t["_id"]))
    by_conversation: dict[str, list[dict]] = {}
    for tweet in tweets:
        by_conversation.setdefault(tweet["conversation_id"], []).append(tweet)
    return {t["_id"]: customer_words(by_conversation.get(t["_id"], [])) for t in tickets}


