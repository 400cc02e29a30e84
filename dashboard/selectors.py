"""Dashboard reads. Counts come from indexed queries only."""

from __future__ import annotations

from analysis import schema
from analysis import selectors as analysis_selectors
from ingestion.models import IngestJob, JobStatus
from tickets.models import Ticket, TicketStatus


def overview() -> dict:
    return {
        "tickets_new": Ticket.objects(status=TicketStatus.NEW).count(),
        "tickets_awaiting_analysis": Ticket.objects(needs_analysis=True).count(),
        "new_by_team": [(team, Ticket.objects(team=team, status=TicketStatus.NEW).count()) for team in schema.TEAMS],
        "providers": analysis_selectors.provider_status(),
        "ledger": analysis_selectors.ledger(days=3),
        "jobs_running": IngestJob.objects(status=JobStatus.RUNNING).count(),
        "recent_jobs": list(IngestJob.objects.order_by("-created_at").limit(5)),
    }
