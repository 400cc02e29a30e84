"""django-q2 tasks: analysis runs on its own worker clusters, never in a web request and
never in the housekeeping cluster's way (`label`: the fast tier; `refine`: the LLM chain).

Refinement never slows routing or the pages: the refine cluster's workers run at the lowest
CPU priority (DALLOSH_REFINE_NICE, like the local model's server), and a refinement task
first waits, a bounded while, for the labelling work waiting to be done."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django_q.brokers import get_broker
from django_q.conf import Conf

from analysis import services, work
from analysis.drafts import services as drafts
from dallosh.processes import lower_priority
from tickets import store

logger = logging.getLogger("dallosh.analysis")
PAUSE_EVERY_S = 0.5


def lower_refine_worker_priority(sender=None, proc_name: str = "", **_signal) -> None:
    """django_q's post_spawn, in each worker process it starts: a refine cluster's worker
    lowers itself to DALLOSH_REFINE_NICE before its first task. The worker processes run
    every task (the cluster's pusher and monitor only pass messages), and a server it starts
    for the local model inherits the level (and sets its own anyway)."""
    if Conf.CLUSTER_NAME == work.REFINE_CLUSTER:
        level = lower_priority(settings.DALLOSH_ANALYSIS.refine_nice)
        logger.info("%s: refine worker at nice %d", proc_name, level)


def labelling_waits() -> bool:
    """Work people wait on is waiting: tasks queued for the label cluster, or tickets not
    labelled yet (just ingested). Two cheap reads: a Redis list's length and one indexed
    ticket. False with the fast tier off: the LLM chain is then the labelling itself."""
    if not settings.DALLOSH_ANALYSIS.fast_tier:
        return False
    try:
        if get_broker(work.LABEL_CLUSTER).queue_size():
            return True
    except Exception as error:  # the broker is down: the tickets still say whether work waits
        logger.warning("cannot read the label queue's size: %s", error)
    return store.exists({"needs_analysis": True})


def yield_to_labelling(*, most_s: float | None = None) -> float:
    """Wait while labelling has work waiting, at most `most_s` seconds (DALLOSH_REFINE_PAUSE_S):
    refinement improves labels already routed, so it goes after the tickets not routed yet,
    and the bound keeps it moving under a constant flow. Returns the seconds waited."""
    most_s = settings.DALLOSH_ANALYSIS.refine_pause_s if most_s is None else most_s
    started = time.monotonic()
    while time.monotonic() - started < most_s and labelling_waits():
        time.sleep(PAUSE_EVERY_S)
    waited = time.monotonic() - started
    if waited >= PAUSE_EVERY_S:
        logger.info("refinement waited %.1f s for labelling", waited)
    return waited


def label_tickets(ticket_ids: list[str]) -> dict:
    run = services.label_tickets(ticket_ids=ticket_ids)
    work.enqueue_pending()  # the next tickets waiting, without waiting for the sweeper
    work.enqueue_refinement()  # the unsure ones start refining now
    logger.info("labelled %d tickets (%d unsure, queued for refinement), %d skipped", len(run.analysed),
                run.unsure, run.skipped)
    return {"labelled": len(run.analysed), "unsure": run.unsure, "superseded": len(run.superseded),
            "skipped": run.skipped}


def analyse_tickets(ticket_ids: list[str], solo: bool = False) -> dict:
    # before claiming, and before each LLM call of the task (its claim renewed meanwhile)
    yield_to_labelling()
    run = services.analyse_tickets(ticket_ids=ticket_ids, solo=solo, before_call=yield_to_labelling)
    work.enqueue_pending()  # re-queued tickets and anything new
    work.enqueue_refinement()  # keep the LLM busy without waiting for the sweeper
    logger.info("refined %d tickets, %d re-queued, %d failed (retried later), %d skipped", len(run.analysed),
                len(run.requeued), len(run.failed), run.skipped)
    return {"analysed": len(run.analysed), "requeued": len(run.requeued), "failed": len(run.failed),
            "superseded": len(run.superseded), "skipped": run.skipped}


def summarise_tickets(ticket_ids: list[str]) -> int:
    yield_to_labelling()
    written = services.summarise_tickets(ticket_ids=ticket_ids)
    logger.info("summarised %d of %d tickets", written, len(ticket_ids))
    return written


def sweep_pending() -> int:
    """Scheduled every minute: hand out tickets whose worker died or that were never queued,
    and the next unsure ones to refine."""
    labelling, refining = work.enqueue_pending(), work.enqueue_refinement()
    logger.info("sweeper: %d tickets handed out for labelling, %d for refinement", labelling, refining)
    return labelling + refining


def write_reply_draft(draft_id: str) -> str:
    """On the refine cluster: an agent's reply draft, written by the provider chain (never in
    the web request that asked for it) and announced to their ticket page. It does not wait
    for labelling: an agent is waiting for it."""
    return drafts.write_draft(draft_id=draft_id)
