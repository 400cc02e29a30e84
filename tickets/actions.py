"""The one list of what people can do to a ticket. The ticket page, the REST API and the
queue's bulk bar all run actions from here, so they cannot disagree (the API once lacked
`reply`); each action names the body fields it reads and the service that does it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext as _

from dallosh.errors import NotFound
from dallosh.permissions import (
    can_assign_ticket,
    can_hold_tickets_of,
    can_release_ticket,
    can_withdraw_correction,
    can_work_ticket,
)
from tickets import services
from tickets.forms import CorrectionForm
from tickets.models import TicketStatus

BULK_MAX = 200


class UnknownAction(NotFound):
    """No action of that name (a 404, as an unknown address)."""


@dataclass(frozen=True)
class Action:
    name: str
    run: Callable[..., dict]  # run(ticket_id=..., user=..., **fields)
    fields: tuple[str, ...] = ()  # the body fields it reads, as text
    bulk: bool = False  # offered on the queue's bulk bar


def _resolve(*, ticket_id: str, user) -> dict:
    return services.change_status(ticket_id=ticket_id, user=user, status=TicketStatus.RESOLVED)


def _correct(*, ticket_id: str, user, **fields: str) -> dict:
    form = CorrectionForm(fields)
    if not form.is_valid():
        raise services.ActionRefused(_("Correction refused: %(errors)s") % {"errors": "; ".join(
            f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())})
    return services.correct_labels(ticket_id=ticket_id, user=user, **form.cleaned_data)


ACTIONS: dict[str, Action] = {action.name: action for action in (
    Action("claim", services.claim_ticket, bulk=True),
    Action("release", services.release_ticket),
    Action("assign", services.assign_ticket, ("assignee",)),
    Action("status", services.change_status, ("status",)),
    Action("resolve", _resolve, bulk=True),
    Action("reroute", services.reroute_ticket, ("team", "reason"), bulk=True),
    Action("note", services.add_note, ("text",)),
    Action("reply", services.record_reply, ("text",)),
    Action("correct", _correct, ("sentiment", "topic", "urgency", "actionable")),
    Action("withdraw_correction", services.withdraw_correction),
)}
BULK_ACTIONS = tuple(name for name, action in ACTIONS.items() if action.bulk)


def offered(*, ticket: dict, user) -> frozenset[str]:
    """The actions a page offers this user on this ticket as it stands: what the services
    would accept (its state, the user's role), so nobody is offered a button that refuses."""
    if not can_work_ticket(user, ticket):
        return frozenset()
    is_open = ticket["status"] in TicketStatus.OPEN
    held_by = ticket.get("assignee")
    names = {"note"}
    if is_open:
        names.add("reply")
        if not held_by or can_release_ticket(user, ticket):  # re-routing takes it from its holder
            names.add("reroute")
        if not held_by and ticket.get("team") and can_hold_tickets_of(user, ticket["team"]):
            names.add("claim")
        if can_assign_ticket(user, ticket) and ticket.get("team"):
            names.add("assign")
    if held_by and can_release_ticket(user, ticket):
        names.add("release")
    statuses = statuses_offered(ticket=ticket, user=user)
    if statuses:
        names.add("status")
    if TicketStatus.RESOLVED in statuses:
        names.add("resolve")
    if ticket.get("analysis"):
        names.add("correct")
    if can_withdraw_correction(user, ticket):
        names.add("withdraw_correction")
    return frozenset(names)


def statuses_offered(*, ticket: dict, user) -> tuple[str, ...]:
    """The statuses this user may move the ticket to: its transitions, less "new" on a ticket
    someone holds unless the user may release it (moving it back to new releases it)."""
    allowed = services.TRANSITIONS.get(ticket["status"], ())
    if ticket.get("assignee") and not can_release_ticket(user, ticket):
        allowed = tuple(status for status in allowed if status != TicketStatus.NEW)
    return allowed


def run(*, name: str, ticket_id: str, user, data: Mapping) -> dict:
    """Run one action on one ticket with the fields it reads from `data` (a form or a JSON
    body); raises UnknownAction, or the services' TicketNotFound / ActionRefused."""
    action = ACTIONS.get(name)
    if action is None:
        raise UnknownAction(_("No such action."))
    fields = {field: data.get(field) for field in action.fields if data.get(field) is not None}
    if name != "correct":
        fields = {field: str(fields.get(field, "")) for field in action.fields}
    return action.run(ticket_id=ticket_id, user=user, **fields)


@dataclass
class BulkOutcome:
    done: list[str]
    refused: dict[str, str]  # ticket id → why


def run_bulk(*, name: str, ticket_ids: list[str], user, data: Mapping) -> BulkOutcome:
    """One bulk-bar action on many tickets, each on its own terms: one refusal (already
    held, already resolved) never blocks the others, and each is reported."""
    if name not in BULK_ACTIONS:
        raise services.ActionRefused(_("Unknown bulk action %(name)r.") % {"name": name})
    if len(ticket_ids) > BULK_MAX:
        raise services.ActionRefused(_("At most %(max)d tickets at once.") % {"max": BULK_MAX})
    outcome = BulkOutcome(done=[], refused={})
    values = {"team": data.get("team", ""), "reason": data.get("reason") or "bulk re-route"}
    for ticket_id in dict.fromkeys(ticket_ids):
        try:
            run(name=name, ticket_id=ticket_id, user=user, data=values)
            outcome.done.append(ticket_id)
        except services.TicketNotFound:
            outcome.refused[ticket_id] = "not found"
        except services.ActionRefused as refusal:
            outcome.refused[ticket_id] = str(refusal)
    return outcome
