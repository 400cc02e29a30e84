"""django-q2 tasks: analysis runs on its own worker clusters, never in a web request and
never in the housekeeping cluster's way (`label`: the fast tier; `refine`: the LLM chain)."""

from __future__ import annotations

import logging

from analysis import services
from analysis.drafts import services as drafts

logger = logging.getLogger("dallosh.analysis")


def label_tickets(ticket_ids: list[str]) -> dict:
    run = services.label_tickets(ticket_ids=ticket_ids)
    services.enqueue_pending()  # the next tickets waiting, without waiting for the sweeper
    services.enqueue_refinement()  # the unsure ones start refining now
    logger.info("labelled %d tickets (%d unsure, queued for refinement), %d skipped", len(run.analysed),
                run.unsure, run.skipped)
    return {"labelled": len(run.analysed), "unsure": run.unsure, "superseded": len(run.superseded),
            "skipped": run.skipped}


def analyse_tickets(ticket_ids: list[str], solo: bool = False) -> dict:
    run = services.analyse_tickets(ticket_ids=ticket_ids, solo=solo)
    services.enqueue_pending()  # re-queued tickets and anything new
    services.enqueue_refinement()  # keep the LLM busy without waiting for the sweeper
    logger.info("refined %d tickets, %d re-queued, %d failed (retried later), %d skipped", len(run.analysed),
                len(run.requeued), len(run.failed), run.skipped)
    return {"analysed": len(run.analysed), "requeued": len(run.requeued), "failed": len(run.failed),
            "superseded": len(run.superseded), "skipped": run.skipped}


def summarise_tickets(ticket_ids: list[str]) -> int:
    written = services.summarise_tickets(ticket_ids=ticket_ids)
    logger.info("summarised %d of %d tickets", written, len(ticket_ids))
    return written


def sweep_pending() -> int:
    """Scheduled every minute: hand out tickets whose worker died or that were never queued,
    and the next unsure ones to refine."""
    labelling, refining = services.enqueue_pending(), services.enqueue_refinement()
    logger.info("sweeper: %d tickets handed out for labelling, %d for refinement", labelling, refining)
    return labelling + refining


def write_reply_draft(draft_id: str) -> str:
    """On the refine cluster: an agent's reply draft, written by the provider chain (never in
    the web request that asked for it) and announced to their ticket page."""
    return drafts.write_draft(draft_id=draft_id)
