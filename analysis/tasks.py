"""django-q2 tasks: analysis runs on workers, never in a web request."""

from __future__ import annotations

from analysis import services


def analyse_tickets(ticket_ids: list[str], solo: bool = False) -> dict:
    run = services.analyse_tickets(ticket_ids=ticket_ids, solo=solo)
    return {"analysed": len(run.analysed), "requeued": len(run.requeued), "failed": len(run.failed),
            "superseded": len(run.superseded), "skipped": run.skipped}


def sweep_pending() -> int:
    """Scheduled every minute: hand out tickets whose worker died or that were never queued."""
    return services.enqueue_pending()
