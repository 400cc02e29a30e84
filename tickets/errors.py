"""The tickets stage's refusals, by kind (dallosh/errors.py maps each kind to HTTP once)."""

from __future__ import annotations

from django.utils.translation import gettext

from dallosh.errors import Conflict, Forbidden, NotFound, Throttled


class TicketNotFound(NotFound):
    """No such ticket, or not one the user may see: the same answer either way."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(gettext("No such ticket in your queues."))
        self.ticket_id = ticket_id


class ActionRefused(Conflict):
    """The change is not allowed in the ticket's current state; the message says why."""


class ActionForbidden(ActionRefused, Forbidden):
    """The user may see the ticket but this action is not theirs to take (403, not 409)."""


class ActionThrottled(ActionRefused, Throttled):
    """Refused for now: the person did this too often this minute (429)."""


class AlreadyClaimed(ActionRefused):
    def __init__(self, holder: str) -> None:
        super().__init__(gettext("Already held by %(holder)s.") % {"holder": holder})
        self.holder = holder
