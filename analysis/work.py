"""Handing analysis work out and taking it, for the labelling and refinement workers.

Two work queues live in MongoDB (tickets awaiting analysis, `needs_analysis`; unsure ones
awaiting refinement, analysis/refine_queue.py) and are handed to the django-q2 clusters a
few tasks at a time: the broker holds only what a worker is about to take (its back-pressure,
MAX_WAITING_TASKS), the backlog waits in MongoDB. A worker takes its tickets with a claim and
a lease, renewed while it works; one that dies loses nothing: its leases run out and the
sweeper hands the tickets out again. What it could not write is given back (`release`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.conf import settings

from analysis import classifier, refine_queue
from analysis.chain import ChainResult
from dallosh.bulk import slices
from dallosh.mongo import as_utc
from tickets import store
from tickets.models import EPOCH, TicketStatus

logger = logging.getLogger(__name__)

LABEL_TASK = "analysis.tasks.label_tickets"
SUMMARY_TASK = "analysis.tasks.summarise_tickets"
ANALYSE_TASK = "analysis.tasks.analyse_tickets"
LABEL_CLUSTER = "label"
REFINE_CLUSTER = "refine"
LABEL_TASK_TICKETS = 500  # the fast tier's unit of work: about a second
CLAIMED_FIELDS = {"tweet_ids": 1, "language": 1, "customer": 1, "status": 1, "assignee": 1, "team": 1,
                  "analysis_failures": 1, "created_at": 1, "customer_tweet_count": 1}
RELEASED = {"analysis_claim": None, "analysis_lease_until": EPOCH}


def _config() -> dict:
    return settings.DALLOSH_ANALYSIS


def enqueue_after_ingest(**_signal) -> None:
    """ingestion.events.chunk_checkpointed: queue the tickets the chunk created or changed.
    If the broker is down, ingestion goes on: the tickets stay marked and the sweeper
    queues them later."""
    if not settings.DALLOSH_ANALYSIS.auto_enqueue:
        return
    try:
        enqueue_pending()
    except Exception as exc:
        logger.warning("analysis not enqueued now (the sweeper will): %s", exc)


def enqueue_pending(*, limit: int = 20_000, now: datetime | None = None) -> int:
    """Hand tickets awaiting analysis to the labelling workers (to the LLM chain when the
    fast tier is off), unless enough work already waits in the broker.

    Called after each ingest chunk and by the periodic sweeper, which also hands out again
    what a dead worker held. Returns the number of tickets enqueued.
    """
    fast = classifier.active() is not None
    cluster = LABEL_CLUSTER if fast else REFINE_CLUSTER
    if waiting_tasks(cluster) >= _config().max_waiting_tasks:
        return 0
    now = now or datetime.now(UTC)
    due = store.select({"needs_analysis": True, "analysis_queued_until": {"$lte": now}},
                       projection=store.Projection.ANALYSIS_WORK, limit=limit)
    due = [t for t in due if as_utc(t.get("analysis_lease_until") or EPOCH) <= now]
    if fast:
        return _hand_out([t["_id"] for t in due], task=LABEL_TASK, cluster=cluster, size=LABEL_TASK_TICKETS,
                         now=now)
    return _hand_to_llm(due, now=now)


def enqueue_refinement(*, now: datetime | None = None) -> int:
    """Hand the most urgent, oldest unsure tickets to the LLM chain, a few tasks at a time:
    the LLM is far slower than the flow, so the backlog waits in MongoDB, not in Redis."""
    refine_queue.note_unnoted()  # a writer that died before noting its due tickets
    room = _config().max_waiting_tasks - waiting_tasks(REFINE_CLUSTER)
    if room <= 0:
        return 0
    now = now or datetime.now(UTC)
    return _hand_to_llm(refine_queue.due(limit=room * _config().task_tickets, now=now), now=now)


def _hand_to_llm(due: list[dict], *, now: datetime) -> int:
    """Tasks for the refinement cluster: TASK_TICKETS tickets each, one each for those a
    batched answer missed (analysed alone)."""
    solo = [t["_id"] for t in due if t.get("analysis_solo")]
    batched = [t["_id"] for t in due if not t.get("analysis_solo")]
    return (_hand_out(batched, task=ANALYSE_TASK, cluster=REFINE_CLUSTER, size=_config().task_tickets, now=now)
            + _hand_out(solo, task=ANALYSE_TASK, cluster=REFINE_CLUSTER, size=1, now=now, solo=True))


def _hand_out(ids: list[str], *, task: str, cluster: str, size: int, now: datetime, solo: bool = False) -> int:
    """Mark the tickets queued (not handed out again before REQUEUE_AFTER_S) and enqueue
    one task per `size` of them."""
    from django_q.tasks import async_task

    if not ids:
        return 0
    hold_until = now + timedelta(seconds=_config().requeue_after_s)
    store.set_fields(ids, {"analysis_queued_until": hold_until, "refine_queued_until": hold_until})
    for part in slices(ids, size):
        async_task(task, part, *([True] if solo else []), cluster=cluster, group=cluster)
    return len(ids)


def waiting_tasks(cluster: str) -> int:
    """Tasks already waiting in the broker for that cluster."""
    from django_q.brokers import get_broker

    try:
        return get_broker(cluster).queue_size() or 0
    except Exception as error:  # the broker is down: enqueueing will say so
        logger.warning("cannot read the %s queue's size: %s", cluster, error)
        return 0


def claim_tickets(*, ticket_ids: list[str], refine: bool = False, now: datetime | None = None,
                  projection: dict = CLAIMED_FIELDS) -> tuple[str, list[dict]]:
    """Atomically take the tickets that still await analysis (or, with `refine`, await
    analysis or refinement) and that no live worker holds."""
    now = now or datetime.now(UTC)
    claim = uuid.uuid4().hex
    lease_until = now + timedelta(seconds=_config().lease_s)
    waiting = ({"$or": [{"needs_analysis": True}, {"needs_refinement": True}]} if refine
               else {"needs_analysis": True})
    store.set_fields(ticket_ids, {"analysis_claim": claim, "analysis_lease_until": lease_until,
                                  "analysis_queued_until": lease_until, "refine_queued_until": lease_until},
                     where={**waiting, "status": {"$ne": TicketStatus.MERGED}, "analysis_lease_until": {"$lte": now}})
    return claim, store.select({"analysis_claim": claim}, projection=projection)


def renew_claim(*, claim: str) -> None:
    """Extend the lease of the tickets a live worker still holds."""
    lease_until = datetime.now(UTC) + timedelta(seconds=_config().lease_s)
    store.set_where({"analysis_claim": claim}, {"analysis_lease_until": lease_until,
                                                "analysis_queued_until": lease_until,
                                                "refine_queued_until": lease_until})


@contextmanager
def renewing(claim: str) -> Iterator[None]:
    """Renew the claim every third of the lease while the work goes on, whether the tiers
    answer or not: a slow tier never lets the lease run out under a live worker."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(_config().lease_s / 3):
            try:
                renew_claim(claim=claim)
            except Exception as error:  # the next beat tries again; the lease still has time
                logger.warning("lease renewal failed: %s", error)

    beater = threading.Thread(target=beat, name=f"lease-{claim[:8]}", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()


def release(result: ChainResult, by_id: dict[str, dict], claim: str) -> tuple[list[str], list[str]]:
    """Give back what was not written: re-queued tweets go back at once, to be analysed
    alone; tickets every tier failed on wait, twice as long after each failure. Returns the
    ids (requeued, failed)."""
    requeued, failed = [], []
    now = datetime.now(UTC)
    for ticket_id, why in result.requeued.items():
        store.update_where({"_id": ticket_id, "analysis_claim": claim},
                           {"$set": {**RELEASED, "analysis_queued_until": EPOCH, "refine_queued_until": EPOCH,
                                     "analysis_solo": True, "analysis_error": why}})
        requeued.append(ticket_id)
    for ticket_id, reasons in result.failed.items():
        failures = (by_id[ticket_id].get("analysis_failures") or 0) + 1
        retry_at = now + timedelta(seconds=min(_config().retry_after_s * 2 ** (failures - 1), 6 * 3600))
        store.update_where({"_id": ticket_id, "analysis_claim": claim},
                           {"$set": {**RELEASED, "analysis_queued_until": retry_at, "refine_queued_until": retry_at,
                                     "analysis_error": "; ".join(reasons)[:1000]},
                            "$inc": {"analysis_failures": 1}})
        failed.append(ticket_id)
    return requeued, failed
