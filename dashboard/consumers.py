"""Alerts, live: managers hear every alert, agents those of their teams (an outage reaches
the tech team). dallosh.permissions decides; services publish."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dallosh import permissions
from dashboard.services import ALERTS_MANAGERS, alerts_team_group
from tickets.events import KPI_GROUP


class AlertConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.groups = await database_sync_to_async(_groups_for)(self.scope["user"])
        if not self.groups:
            await self.close(code=4403)
            return
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def alert_changed(self, event: dict) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"})


def _groups_for(user) -> list[str]:
    if permissions.is_manager(user):
        return [ALERTS_MANAGERS]
    return [alerts_team_group(team) for team in permissions.agent_teams(user)]


class KpiConsumer(AsyncJsonWebsocketConsumer):
    """Managers' KPI pages: told that figures moved, they re-read them (at most every few seconds)."""

    async def connect(self) -> None:
        if not await database_sync_to_async(permissions.can_read_kpis)(self.scope["user"]):
            await self.close(code=4403)
            return
        self.groups = [KPI_GROUP]
        await self.channel_layer.group_add(KPI_GROUP, self.channel_name)
        await self.accept()

    async def ticket_changed(self, event: dict) -> None:
        await self.send_json({"id": event["id"], "action": event["action"]})
