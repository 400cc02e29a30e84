"""Response-time targets and the queue priority they imply, in one place.

A ticket's clock starts when the customer wrote, or when we received the tweet if that is
later (a bulk import of old tweets must not be born breached). Until we respond (status
waiting on customer or resolved) the target is "running"; once it passes it is "breached".
Breached tickets float above every unbreached one, then urgency orders, then age.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from dallosh.vocabulary import URGENCIES
from tickets.models import SlaState

# high → 3, medium → 2, low → 1; a breach adds BREACH_BONUS so it outranks every urgency.
URGENCY_RANK = {urgency: len(URGENCIES) - position for position, urgency in enumerate(URGENCIES)}
BREACH_BONUS = len(URGENCIES)
PRIORITIES = tuple(range(BREACH_BONUS + len(URGENCIES), 0, -1))  # 6 … 1, the queue's order


def target(urgency: str, channel: str | None = None) -> timedelta:
    return timedelta(hours=settings.DALLOSH_SLA.target_hours(urgency, channel))


def clock_start(ticket: dict) -> datetime:
    received = ticket.get("ingested_at") or ticket["created_at"]
    return max(ticket["created_at"], received)


def due_at(ticket: dict, urgency: str) -> datetime:
    return clock_start(ticket) + target(urgency, ticket.get("channel"))


def priority(urgency: str, *, overdue: bool) -> int:
    """`overdue`: breached and still awaiting our response."""
    return URGENCY_RANK[urgency] + (BREACH_BONUS if overdue else 0)


def fields_for_urgency(ticket: dict, urgency: str, now: datetime) -> dict:
    """SLA fields when a ticket gets (or changes) its urgency: a running clock is re-aimed at
    the new target; once we have responded, the verdict stays (a ticket answered before it
    had an urgency gets its verdict now, from when we answered)."""
    if ticket.get("responded_at") and ticket.get("sla_state"):
        return {"queue_priority": priority(urgency, overdue=False)}
    if ticket.get("responded_at"):
        due = due_at(ticket, urgency)
        return {"sla_due_at": due, "sla_state": SlaState.MET if ticket["responded_at"] <= due else SlaState.BREACHED,
                "queue_priority": priority(urgency, overdue=False)}
    due = due_at(ticket, urgency)
    breached = due <= now
    return {"sla_due_at": due, "sla_state": SlaState.BREACHED if breached else SlaState.RUNNING,
            "queue_priority": priority(urgency, overdue=breached)}


def fields_on_breach(ticket: dict) -> dict:
    return {"sla_state": SlaState.BREACHED, "queue_priority": priority(ticket["urgency"], overdue=True)}


def fields_on_response(ticket: dict, now: datetime) -> dict:
    """We answered the customer: the clock stops, its verdict stays, the ticket stops floating."""
    if ticket.get("responded_at"):
        return {}
    if not ticket.get("urgency"):  # not analysed yet: routing gives the verdict from this time
        return {"responded_at": now}
    state = SlaState.MET if ticket.get("sla_state") == SlaState.RUNNING else ticket.get("sla_state")
    return {"sla_state": state, "responded_at": now, "queue_priority": priority(ticket["urgency"], overdue=False)}


def fields_on_customer_reply(ticket: dict, now: datetime) -> dict:
    """The customer wrote again after our response: a new clock, from now."""
    return {"sla_due_at": now + target(ticket["urgency"], ticket.get("channel")), "sla_state": SlaState.RUNNING,
            "responded_at": None, "queue_priority": priority(ticket["urgency"], overdue=False)}


def time_left(ticket: dict, now: datetime) -> timedelta | None:
    if ticket.get("sla_state") != SlaState.RUNNING or not ticket.get("sla_due_at"):
        return None
    return ticket["sla_due_at"] - now
