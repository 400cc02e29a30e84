"""Live events of tickets: what the services publish (dallosh/live.py) after a ticket write
has been acknowledged by MongoDB, and what they announce to the stages above (dallosh/
announce.py). Views never publish; consumers only relay.

An event names the ticket, its version and where it sits; clients that show it fetch the
row or page again (rendered by the one template), so the event never carries HTML and a
lost event is repaired by the next one or by the resync a reconnecting client does.
"""

from __future__ import annotations

import time

from django.dispatch import Signal

from dallosh import live
from dallosh.announce import announce

# In-process announcements for the stages above (they subscribe in their apps' ready();
# receivers run at once, in the writer's thread, after MongoDB acknowledged the write):
# pairs: (ticket before, ticket after) for each ticket written; None for one created or gone.
tickets_written = Signal()
# An agent corrected a ticket's labels (ticket: the ticket as written).
labels_corrected = Signal()
# A correction was withdrawn: the model's labels stand again and nothing learns from it
# (ticket: the ticket as written; withdrawn: the correction as it was, with who withdrew it).
correction_withdrawn = Signal()


def written(*, pairs: list[tuple[dict | None, dict | None]]) -> None:
    if pairs:
        announce(tickets_written, about=_tickets_named(pairs), pairs=pairs)


def _tickets_named(pairs: list[tuple[dict | None, dict | None]]) -> str:
    ids = [(after or before or {}).get("_id", "?") for before, after in pairs]
    return "ticket(s) " + ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def row_key(ticket: dict) -> str:
    """The ticket's place in a queue as a string that sorts like the queue: priority (high
    first), then age, then id. Clients place live rows with it."""
    if ticket.get("queue_priority") is None:
        return ""
    created = ticket["created_at"].strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{99 - ticket['queue_priority']:02d}|{created}|{ticket['_id']}"


def ticket_changed(*, after: dict, before: dict | None, action: str, by: str) -> None:
    """Tell the queues the ticket left or entered, and its page's viewers, what changed."""
    live.publish_all(_announcement(after=after, before=before, action=action, by=by))


def tickets_changed(*, pairs: list[tuple[dict, dict]], action: str, by: str) -> None:
    """ticket_changed for many tickets (a fast-tier batch), published in one go."""
    live.publish_all([event for before, after in pairs for event in _announcement(after=after, before=before,
                                                                              action=action, by=by)])


def _announcement(*, after: dict, before: dict | None, action: str, by: str) -> list[tuple[set[str], dict]]:
    event = {
        "type": live.TICKET_CHANGED,
        "id": after["_id"],
        "version": after.get("version", 0),
        "action": action,
        "by": by,
        "team": after.get("team"),
        "previous_team": (before or {}).get("team"),
        "status": after.get("status"),
        "assignee": after.get("assignee"),
        "key": row_key(after),
        "sent_at": time.time(),
    }
    groups = {live.ticket_group(after["_id"])}
    groups |= {live.queue_group(team) for team in (event["team"], event["previous_team"]) if team}
    return [(groups | {live.KPI_GROUP}, event)]
