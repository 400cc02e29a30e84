"""Analysis writes: hand tickets to workers, analyse them down the provider chain, and write
each answer together with its routing in one single-document update.

A ticket moves through the queue by three fields: `analysis_queued_until` (not handed out
again before), `analysis_claim` + `analysis_lease_until` (a worker holds it). A worker
that dies holding tickets loses nothing: its lease runs out and the sweeper hands them out
again. An answer is written only while its worker's claim still stands, so a ticket is
analysed completely or not at all, once per claim, never by two workers, and never with
an answer about text that has changed since.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings

from analysis import classifier, guard, prompts, selectors
from analysis.chain import ChainResult, Outcome, ProviderChain, default_chain
from analysis.prompts import Item
from dallosh.bulk import find_by_values, slices
from ingestion.models import Tweet
from tickets import routing, sla
from tickets.models import Ticket, TicketStatus
from tickets.services import EPOCH, apply_change

logger = logging.getLogger(__name__)

ANALYSE_TASK = "analysis.tasks.analyse_tickets"


@dataclass
class AnalysisRun:
    analysed: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)  # to be analysed alone
    failed: list[str] = field(default_factory=list)  # every tier failed: retried later
    superseded: list[str] = field(default_factory=list)  # text changed or claim lost meanwhile
    skipped: int = 0  # not claimable: already analysed, or held by another worker


def _config() -> dict:
    return settings.DALLOSH_ANALYSIS


# --- handing work out ---------------------------------------------------------------------


def enqueue_pending(*, limit: int = 5000, now: datetime | None = None) -> int:
    """Enqueue worker tasks for tickets awaiting analysis that nobody holds or has queued.

    Called after each ingest chunk and by the periodic sweeper, which also hands out again
    what a dead worker held. Returns the number of tickets enqueued.
    """
    from django_q.tasks import async_task

    now = now or datetime.now(UTC)
    collection = Ticket._get_collection()
    due = list(collection.find({"needs_analysis": True, "analysis_queued_until": {"$lte": now}},
                               {"_id": 1, "analysis_solo": 1, "analysis_lease_until": 1}).limit(limit))
    due = [t for t in due if _as_utc(t.get("analysis_lease_until")) <= now]
    if not due:
        return 0
    hold_until = now + timedelta(seconds=_config()["REQUEUE_AFTER_S"])
    for ids in slices([t["_id"] for t in due]):
        collection.update_many({"_id": {"$in": ids}}, {"$set": {"analysis_queued_until": hold_until}})
    solo = [t["_id"] for t in due if t.get("analysis_solo")]
    batched = [t["_id"] for t in due if not t.get("analysis_solo")]
    for ids in slices(batched, _config()["TASK_TICKETS"]):
        async_task(ANALYSE_TASK, ids, group="analysis")
    for ids in slices(solo, 1):
        async_task(ANALYSE_TASK, ids, True, group="analysis")
    return len(due)


def claim_tickets(*, ticket_ids: list[str], now: datetime | None = None) -> tuple[str, list[dict]]:
    """Atomically take the tickets that still await analysis and that no live worker holds."""
    now = now or datetime.now(UTC)
    claim = uuid.uuid4().hex
    lease_until = now + timedelta(seconds=_config()["LEASE_S"])
    collection = Ticket._get_collection()
    for ids in slices(ticket_ids):
        collection.update_many(
            {"_id": {"$in": ids}, "needs_analysis": True, "status": {"$ne": TicketStatus.MERGED},
             "analysis_lease_until": {"$lte": now}},
            {"$set": {"analysis_claim": claim, "analysis_lease_until": lease_until,
                      "analysis_queued_until": lease_until}})
    held = list(collection.find({"analysis_claim": claim}, {"tweet_ids": 1, "language": 1, "customer": 1,
                                                             "status": 1, "assignee": 1, "team": 1}))
    return claim, held


# --- analysing ----------------------------------------------------------------------------


def analyse_tickets(*, ticket_ids: list[str], solo: bool = False, chain: ProviderChain | None = None) -> AnalysisRun:
    """Claim, analyse and write these tickets; the unit of work of one worker task."""
    claim, held = claim_tickets(ticket_ids=ticket_ids)
    run = AnalysisRun(skipped=len(ticket_ids) - len(held))
    if not held:
        return run
    texts = _customer_texts(held)
    items = [Item(id=t["_id"], text=texts.get(t["_id"], ""), language=t.get("language")) for t in held]
    rules = routing.active_rules()
    by_id = {t["_id"]: t for t in held}

    def write(ticket_id: str, outcome: Outcome) -> None:
        """Each answer is written the moment it is valid, and the claim on the rest renewed:
        a slow batch neither hides finished tickets nor loses its lease."""
        written = record_analysis(ticket=by_id[ticket_id], claim=claim, outcome=outcome,
                                  text=texts.get(ticket_id, ""), rules=rules)
        (run.analysed if written else run.superseded).append(ticket_id)
        renew_claim(claim=claim)

    result = (chain or default_chain()).analyse(items, solo=solo, on_analysed=write)
    _release(result, by_id, claim, run)
    if run.requeued:
        enqueue_pending(limit=len(run.requeued) + 100)
    return run


def renew_claim(*, claim: str) -> None:
    """Extend the lease of the tickets a live worker still holds."""
    lease_until = datetime.now(UTC) + timedelta(seconds=_config()["LEASE_S"])
    Ticket._get_collection().update_many({"analysis_claim": claim},
                                         {"$set": {"analysis_lease_until": lease_until,
                                                   "analysis_queued_until": lease_until}})


def record_analysis(*, ticket: dict, claim: str, outcome: Outcome, text: str,
                    rules: list | None = None, now: datetime | None = None) -> bool:
    """Write the answer, its routing and SLA in one update, only while `claim` still holds.

    The ticket is read again first: agents may have worked it since the claim. One that an
    agent already holds keeps its team and urgency (re-routing it is a person's decision),
    and labels an agent corrected stay the ones the queue shows.
    """
    now = now or datetime.now(UTC)
    analysis = outcome.analysis
    route = routing.decide_route(analysis=analysis, text=text, language=ticket.get("language"),
                                 author=ticket.get("customer"), rules=rules)
    answer = {**analysis.to_dict(), "input_text": text, "provider": outcome.provider, "model": outcome.model,
              "tokens_in": outcome.tokens_in, "tokens_out": outcome.tokens_out, "latency_ms": outcome.latency_ms,
              "attempts": outcome.attempts, "batch_size": outcome.batch_size, "fallbacks": outcome.fallbacks,
              "prompt_version": prompts.prompt_version(), "analysed_at": now,
              "review_flag": guard.review_flag(text=text, analysis=analysis)}
    for _ in range(5):
        current = Ticket._get_collection().find_one({"_id": ticket["_id"], "analysis_claim": claim},
                                                    {"audit": 0, "notes": 0})
        if current is None:
            return False  # the claim was lost: new tweets arrived, or the lease ran out
        changes = {"analysis": answer, "needs_analysis": False, "analysis_claim": None,
                   "analysis_lease_until": EPOCH, "analysis_queued_until": EPOCH, "analysis_solo": False,
                   "analysis_failures": 0, "analysis_error": None}
        if not current.get("correction"):
            changes |= {"topic": analysis.topic, "sentiment": analysis.sentiment}
        if _routable(current):
            urgency = current["correction"]["urgency"] if current.get("correction") else route.urgency
            changes |= {"team": route.team, "urgency": urgency, "routing_rule": route.rule, "routed_at": now,
                        **sla.fields_for_urgency(current, urgency, now)}
        details = {"provider": outcome.provider, "model": outcome.model, "team": changes.get("team"),
                   "urgency": changes.get("urgency"), "rule": route.rule}
        written = apply_change(ticket=current, changes=changes, by="system:analysis", action="analysed",
                               details=details, condition={"analysis_claim": claim}, now=now)
        if written is not None:
            return True
    return False


def _routable(ticket: dict) -> bool:
    return ticket.get("team") is None or (ticket.get("status") == TicketStatus.NEW and not ticket.get("assignee"))


def _release(result: ChainResult, by_id: dict[str, dict], claim: str, run: AnalysisRun) -> None:
    """Give back what was not written: re-queued tweets go back at once, to be analysed
    alone; tickets every tier failed on wait, longer after each failure."""
    collection = Ticket._get_collection()
    now = datetime.now(UTC)
    for ticket_id, why in result.requeued.items():
        collection.update_one({"_id": ticket_id, "analysis_claim": claim},
                              {"$set": {"analysis_claim": None, "analysis_lease_until": EPOCH,
                                        "analysis_queued_until": EPOCH, "analysis_solo": True,
                                        "analysis_error": why}})
        run.requeued.append(ticket_id)
    for ticket_id, reasons in result.failed.items():
        failures = (by_id[ticket_id].get("analysis_failures") or 0) + 1
        wait = min(_config()["RETRY_AFTER_S"] * 2 ** (failures - 1), 6 * 3600)
        collection.update_one({"_id": ticket_id, "analysis_claim": claim},
                              {"$set": {"analysis_claim": None, "analysis_lease_until": EPOCH,
                                        "analysis_queued_until": now + timedelta(seconds=wait),
                                        "analysis_error": "; ".join(reasons)[:1000]},
                               "$inc": {"analysis_failures": 1}})
        run.failed.append(ticket_id)


def _customer_texts(tickets: list[dict]) -> dict[str, str]:
    """Each ticket's text for the model: its customer's own tweets, cleaned, in order."""
    tweet_ids = [tweet_id for t in tickets for tweet_id in t.get("tweet_ids", [])]
    fields = {"clean_text": 1, "text": 1, "is_brand": 1, "is_retweet": 1, "is_duplicate": 1, "created_at": 1,
              "conversation_id": 1}
    tweets = sorted(find_by_values(Tweet._get_collection(), "_id", tweet_ids, fields),
                    key=lambda t: (t["created_at"], t["_id"]))
    by_conversation: dict[str, list[str]] = {}
    for tweet in tweets:
        if tweet.get("is_brand") or tweet.get("is_retweet") or tweet.get("is_duplicate"):
            continue
        text = (tweet.get("clean_text") or tweet.get("text") or "").strip()
        if text:
            by_conversation.setdefault(tweet["conversation_id"], []).append(text)
    return {t["_id"]: " / ".join(by_conversation.get(t["_id"], [])) for t in tickets}


def _as_utc(value: datetime | None) -> datetime:
    if value is None:
        return EPOCH
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --- the distilled classifier ------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingOutcome:
    evaluation: classifier.Evaluation
    version: int | None  # the version stored, None when nothing was stored
    activated: bool
    previous: classifier.Evaluation | None  # the active version, scored on the same held-out split
    trained_on: int
    corrections: int
    message: str


MIN_TRAINING_EXAMPLES = 50


def train_classifier(*, limit: int = 200_000, force: bool = False) -> TrainingOutcome:
    """Train on the LLM-labelled (and agent-corrected) tickets, score on the held-out split,
    store the version, and make it the active one unless the active version scores better
    on this same split (or `force`)."""
    examples = selectors.training_examples(limit=limit)
    train = [e for e in examples if not classifier.held_out(e.id)]
    test = [e for e in examples if classifier.held_out(e.id)]
    if len(train) < MIN_TRAINING_EXAMPLES or not test:
        raise ValueError(f"{len(examples)} analysed tickets to learn from: at least "
                         f"{MIN_TRAINING_EXAMPLES} are needed, with some held out")
    model = classifier.fit(train)
    evaluation = classifier.evaluate(model, test, set_thresholds=True)
    current = classifier.active()
    previous = classifier.evaluate(current, test) if current else None
    better = previous is None or evaluation.score >= previous.score
    corrections = sum(e.weight > 1 for e in examples)
    stored = classifier.save(model, evaluation, trained_on=len(train), corrections=corrections,
                             activate=better or force)
    classifier.forget_cache()
    if better or force:
        message = f"version {stored.version} is now active"
    else:
        message = (f"version {stored.version} is stored but NOT active: the active version {current.version} agrees "
                   f"better on this held-out split ({previous.score:.3f} against {evaluation.score:.3f}); "
                   "--force to activate it anyway")
    return TrainingOutcome(evaluation=evaluation, version=stored.version, activated=better or force,
                           previous=previous, trained_on=len(train), corrections=corrections, message=message)
