"""Live events: what the services publish on the Channels layer after a ticket write has
been acknowledged by MongoDB. Views never publish; consumers only relay.

An event names the ticket, its version and where it sits; clients that show it fetch the
row or page again (rendered by the one template), so the event never carries HTML and a
lost event is repaired by the next one or by the resync a reconnecting client does.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import Signal

from dallosh.announce import announce

logger = logging.getLogger(__name__)
PUBLISH_CONCURRENCY = 32

EVENT_TYPE = "ticket.changed"
DRAFT_EVENT_TYPE = "draft.changed"  # a reply draft's progress (analysis/drafts)
KPI_GROUP = "kpis"  # managers' KPI pages: any ticket change may move a figure


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


def queue_group(team: str) -> str:
    return f"queue.{team}"


def ticket_group(ticket_id: str) -> str:
    """Channels group names allow only [a-zA-Z0-9._-]: ticket ids ("twcs:123") are hashed."""
    return "ticket." + hashlib.sha1(ticket_id.encode()).hexdigest()[:24]


def row_key(ticket: dict) -> str:
    """The ticket's place in a queue as a string that sorts like the queue: priority (high
    first), then age, then id. Clients place live rows with it."""
    if ticket.get("queue_priority") is None:
        return ""
    created = ticket["created_at"].strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{99 - ticket['queue_priority']:02d}|{created}|{ticket['_id']}"


def ticket_changed(*, after: dict, before: dict | None, action: str, by: str) -> None:
    """Tell the queues the ticket left or entered, and its page's viewers, what changed."""
    publish_all(_announcement(after=after, before=before, action=action, by=by))


def tickets_changed(*, pairs: list[tuple[dict, dict]], action: str, by: str) -> None:
    """ticket_changed for many tickets (a fast-tier batch), published in one go."""
    publish_all([event for before, after in pairs for event in _announcement(after=after, before=before,
                                                                              action=action, by=by)])


def _announcement(*, after: dict, before: dict | None, action: str, by: str) -> list[tuple[set[str], dict]]:
    event = {
        "type": EVENT_TYPE,
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
    groups = {ticket_group(after["_id"])}
    groups |= {queue_group(team) for team in (event["team"], event["previous_team"]) if team}
    return [(groups | {KPI_GROUP}, event)]


def draft_changed(*, ticket_id: str, draft_id: str, status: str, requested_by: str) -> None:
    """A reply draft moved on (writing, ready, failed): sent to the ticket's page group, whose
    consumer relays it to the requester's sockets only (`for`). It carries no text: the
    page reads the draft from its status endpoint, where permissions are checked again."""
    publish({ticket_group(ticket_id)}, {"type": DRAFT_EVENT_TYPE, "id": ticket_id, "draft": draft_id,
                                        "status": status, "for": requested_by, "sent_at": time.time()})


def publish(groups: set[str], event: dict) -> None:
    publish_all([(groups, event)])


def publish_all(announcements: list[tuple[set[str], dict]]) -> None:
    """Best effort: the writes are already durable, and a client that missed an event resyncs
    on reconnect, so a broken layer is logged, never raised into the service."""
    layer = get_channel_layer()
    if layer is None or not announcements:
        return
    try:
        async_to_sync(_send_all)(layer, announcements)
    except Exception:
        logger.exception("could not publish %d event(s), the first %s for ticket %s", len(announcements),
                         announcements[0][1].get("action"), announcements[0][1].get("id"))


async def _send_all(layer, announcements: list[tuple[set[str], dict]]) -> None:
    """One ticket's events in order; many tickets' concurrently, a bounded number at a time."""
    bound = asyncio.Semaphore(PUBLISH_CONCURRENCY)

    async def send(groups: set[str], event: dict) -> None:
        async with bound:
            for group in sorted(groups):
                await layer.group_send(group, event)

    await asyncio.gather(*(send(groups, event) for groups, event in announcements))
