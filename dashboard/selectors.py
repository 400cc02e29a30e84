"""Dashboard reads. Counts come from indexed queries only."""

from __future__ import annotations

from analysis import schema
from analysis import selectors as analysis_selectors
from ingestion.models import IngestJob, JobStatus
from tickets import selectors as ticket_selectors
from tickets.models import Ticket, TicketStatus


def overview() -> dict:
    backlog = ticket_selectors.backlog()
    return {
        "tickets_awaiting_analysis": Ticket.objects(needs_analysis=True).count(),
        "backlog": [(team, [backlog.get(team, {}).get(status, 0) for status in TicketStatus.OPEN])
                    for team in schema.TEAMS],
        "open_statuses": TicketStatus.OPEN,
        "providers": analysis_selectors.provider_status(),
        "ledger": analysis_selectors.ledger(days=3),
        "jobs_running": IngestJob.objects(status=JobStatus.RUNNING).count(),
        "recent_jobs": list(IngestJob.objects.order_by("-created_at").limit(5)),
    }
