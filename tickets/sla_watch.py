"""The SLA watch: tickets whose response target passed are flagged (they float to the top
of their queue, live), and tickets routed before queues existed get their queue fields.
The targets and priorities themselves are tickets/sla.py's."""

from __future__ import annotations

from datetime import UTC, datetime

from dallosh.vocabulary import labels_in_force, unsure_in_force
from tickets import sla, store
from tickets.audit import AuditAction
from tickets.models import SlaState
from tickets.services import apply_change


def flag_breaches(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Mark tickets whose response target has passed: they float to the top of their queue,
    live. Run every minute by a django-q2 schedule; a ticket changed meanwhile waits a minute."""
    now = now or datetime.now(UTC)
    overdue = store.select({"sla_state": SlaState.RUNNING, "sla_due_at": {"$lt": now}},
                           projection=store.Projection.WORKING, limit=limit)
    flagged = 0
    for ticket in overdue:
        if ticket.get("responded_at") or not ticket.get("urgency"):
            continue
        with store.skipping_unwritable("SLA watch"):
            written = apply_change(ticket=ticket, changes=sla.fields_on_breach(ticket), by="system:sla",
                                   action=AuditAction.SLA_BREACHED, details={"due": ticket["sla_due_at"].isoformat()},
                                   now=now)
            flagged += written is not None
    return flagged


def backfill_queue_fields(*, now: datetime | None = None) -> int:
    """Give tickets routed before queues existed their queue fields (labels shown, SLA,
    priority), through apply_change so the directory and the audit trail follow."""
    now = now or datetime.now(UTC)
    done = 0
    missing = {"team": {"$ne": None}, "queue_priority": None, "analysis": {"$exists": True}}
    for ticket in store.select(missing, projection=store.Projection.WORKING):
        labels = labels_in_force(ticket["analysis"], ticket.get("correction"))
        changes = {"topic": labels["topic"], "sentiment": labels["sentiment"],
                   **sla.fields_for_urgency(ticket, ticket["urgency"], now)}
        with store.skipping_unwritable("queue backfill"):
            done += apply_change(ticket=ticket, changes=changes, by="system:upgrade", action=AuditAction.QUEUED,
                                 now=now) is not None
    return done


def backfill_unsure(*, now: datetime | None = None) -> int:
    """Mark the tickets analysed before the unsure flag existed whose labels the machine still
    doubts (Ticket.unsure, as dallosh.vocabulary.unsure_in_force decides it), through
    apply_change so the queue directory counts them apart and the "unsure" view finds them;
    read one indexed day of tickets at a time. A ticket written since has its flag already."""
    now = now or datetime.now(UTC)
    done = 0
    for ticket in store.scan_by_created_day(projection=store.Projection.STATE):
        if "unsure" in ticket or not unsure_in_force(ticket.get("analysis"), ticket.get("correction"),
                                                     refining=bool(ticket.get("needs_refinement"))):
            continue
        with store.skipping_unwritable("unsure backfill"):
            done += apply_change(ticket=ticket, changes={"unsure": True}, by="system:upgrade",
                                 action=AuditAction.MARKED_UNSURE, condition={"unsure": {"$exists": False}},
                                 now=now) is not None
    return done
