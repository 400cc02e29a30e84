"""Websocket consumers: relay the services' ticket events to the people allowed to see them.

They never write and never build events; dallosh.permissions decides who may subscribe.
"""

from __future__ import annotations

from channels.db import database_sync_to_async

from dallosh import live, permissions
from dallosh.access import FORBIDDEN, AccessCheckedConsumer
from tickets import selectors


class QueueConsumer(AccessCheckedConsumer):
    """One team's queue: every change to a ticket entering, in or leaving it."""

    async def connect(self) -> None:
        self.team = self.scope["url_route"]["kwargs"]["team"]
        if not await database_sync_to_async(self.still_allowed)(self.scope["user"]):
            await self.close(code=FORBIDDEN)
            return
        await self.join([live.queue_group(self.team)])

    def still_allowed(self, user) -> bool:
        return permissions.can_view_team(user, self.team)

    async def ticket_changed(self, event: dict) -> None:
        await self.send_json(_public(event))


class TicketConsumer(AccessCheckedConsumer):
    """One ticket's page. A viewer whose access ends (re-routed away, removed from the team)
    is dropped."""

    async def connect(self) -> None:
        self.ticket_id = self.scope["url_route"]["kwargs"]["ticket_id"]
        if not await database_sync_to_async(self.still_allowed)(self.scope["user"]):
            await self.close(code=FORBIDDEN)
            return
        await self.join([live.ticket_group(self.ticket_id)])

    def still_allowed(self, user) -> bool:
        return selectors.ticket_visible_to(user=user, ticket_id=self.ticket_id) is not None

    async def ticket_changed(self, event: dict) -> None:
        user = await self.current_user()
        allowed = user is not None and await database_sync_to_async(permissions.can_view_ticket)(user, event)
        if not allowed:
            await self.send_json({"id": event["id"], "version": event["version"], "gone": True})
            await self.close(code=FORBIDDEN)
            return
        await self.send_json(_public(event))

    async def draft_changed(self, event: dict) -> None:
        """A reply draft's progress (analysis/drafts), for the agent who asked for it only."""
        if event.get("for") == self.scope["user"].get_username():
            await self.send_json({key: value for key, value in _public(event).items() if key != "for"})


def _public(event: dict) -> dict:
    return {key: value for key, value in event.items() if key != "type"}
