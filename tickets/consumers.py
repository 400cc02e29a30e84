"""Websocket consumers: relay the services' ticket events to the people allowed to see them.

They never write and never build events; dallosh.permissions decides who may subscribe.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dallosh import permissions
from tickets import events, selectors

FORBIDDEN = 4403  # close code the page shows as "not allowed" (and does not retry)


class QueueConsumer(AsyncJsonWebsocketConsumer):
    """One team's queue: every change to a ticket entering, in or leaving it."""

    async def connect(self) -> None:
        team = self.scope["url_route"]["kwargs"]["team"]
        if not await database_sync_to_async(permissions.can_view_team)(self.scope["user"], team):
            await self.close(code=FORBIDDEN)
            return
        self.groups = [events.queue_group(team)]
        await self.channel_layer.group_add(self.groups[0], self.channel_name)
        await self.accept()

    async def ticket_changed(self, event: dict) -> None:
        await self.send_json(_public(event))


class TicketConsumer(AsyncJsonWebsocketConsumer):
    """One ticket's page. A viewer whose access ends (re-routed away) is told once, then dropped."""

    async def connect(self) -> None:
        ticket_id = self.scope["url_route"]["kwargs"]["ticket_id"]
        if not await database_sync_to_async(_may_view)(self.scope["user"], ticket_id):
            await self.close(code=FORBIDDEN)
            return
        self.groups = [events.ticket_group(ticket_id)]
        await self.channel_layer.group_add(self.groups[0], self.channel_name)
        await self.accept()

    async def ticket_changed(self, event: dict) -> None:
        allowed = await database_sync_to_async(permissions.can_view_ticket)(self.scope["user"], event)
        if not allowed:
            await self.send_json({"id": event["id"], "version": event["version"], "gone": True})
            await self.close(code=FORBIDDEN)
            return
        await self.send_json(_public(event))


def _may_view(user, ticket_id: str) -> bool:
    return selectors.ticket_visible_to(user=user, ticket_id=ticket_id) is not None


def _public(event: dict) -> dict:
    return {key: value for key, value in event.items() if key != "type"}
