"""The live layer: the Channels groups pages listen on, the events they hear, and publishing.

One home for every group name and event type, and one policy for publishing: after the
write it tells of is durable, best effort (a broken layer is logged, never raised into the
service that wrote), since a client that missed an event resyncs when it reconnects. An event
names what changed; a page that shows it reads it again through its permissions, so an event
never carries HTML or text.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)
PUBLISH_CONCURRENCY = 32

# Event types: the consumer method that handles one is its name with "_" for ".".
TICKET_CHANGED = "ticket.changed"
DRAFT_CHANGED = "draft.changed"  # a reply draft's progress (analysis/drafts)
ALERT_CHANGED = "alert.changed"  # raised, refreshed, acknowledged or closed (dashboard)
ACCESS_CHANGED = "access.changed"  # a user's groups or account changed (dallosh/access.py)

KPI_GROUP = "kpis"  # managers' KPI pages: any ticket change may move a figure
ALERTS_MANAGERS = "alerts.managers"


def queue_group(team: str) -> str:
    return f"queue.{team}"


def ticket_group(ticket_id: str) -> str:
    """Channels group names allow only [a-zA-Z0-9._-]: ticket ids ("twcs:123") are hashed."""
    return "ticket." + hashlib.sha1(ticket_id.encode()).hexdigest()[:24]


def alerts_team_group(team: str) -> str:
    return f"alerts.team.{team}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


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
        first = announcements[0][1]
        logger.exception("could not publish %d event(s), the first %s (%s) for %s", len(announcements),
                         first.get("type"), first.get("action"), first.get("id"))


async def _send_all(layer, announcements: list[tuple[set[str], dict]]) -> None:
    """One subject's events in order; many subjects' concurrently, a bounded number at a time."""
    bound = asyncio.Semaphore(PUBLISH_CONCURRENCY)

    async def send_to_groups(groups: set[str], event: dict) -> None:
        async with bound:
            for group in sorted(groups):
                await layer.group_send(group, event)

    await asyncio.gather(*(send_to_groups(groups, event) for groups, event in announcements))
