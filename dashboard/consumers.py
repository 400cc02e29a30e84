"""Alerts, live: managers hear every alert, agents those of their teams (an outage reaches
the tech team). dallosh.permissions decides; services publish."""

from __future__ import annotations

from channels.db import database_sync_to_async

from dallosh import permissions
from dallosh.access import FORBIDDEN, AccessCheckedConsumer
from dallosh.live import ALERTS_MANAGERS, KPI_GROUP, alerts_team_group


class AlertConsumer(AccessCheckedConsumer):
    """Alerts of the teams the user works in, or all of them for a manager. When the user's
    teams change the socket closes (the page reconnects and subscribes afresh)."""

    async def connect(self) -> None:
        self.alert_groups = await database_sync_to_async(_groups_for)(self.scope["user"])
        if not self.alert_groups:
            await self.close(code=FORBIDDEN)
            return
        await self.join(self.alert_groups)

    async def access_changed(self, event: dict) -> None:
        """Follow the user's teams: leave the alerts no longer theirs, hear the new ones."""
        user = await database_sync_to_async(self.fresh_user)()
        wanted = await database_sync_to_async(_groups_for)(user) if user else []
        if not wanted:
            await self.close(code=FORBIDDEN)
            return
        for group in set(self.alert_groups) - set(wanted):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(wanted) - set(self.alert_groups):
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups = [*wanted, *(g for g in self.groups if g not in self.alert_groups)]
        self.alert_groups = wanted

    async def alert_changed(self, event: dict) -> None:
        await self.send_json({key: value for key, value in event.items() if key != "type"})


def _groups_for(user) -> list[str]:
    if permissions.is_manager(user):
        return [ALERTS_MANAGERS]
    return [alerts_team_group(team) for team in permissions.agent_teams(user)]


class KpiConsumer(AccessCheckedConsumer):
    """Managers' KPI pages: told that figures moved, they re-read them (at most every few seconds)."""

    async def connect(self) -> None:
        if not await database_sync_to_async(self.still_allowed)(self.scope["user"]):
            await self.close(code=FORBIDDEN)
            return
        await self.join([KPI_GROUP])

    def still_allowed(self, user) -> bool:
        return permissions.can_read_kpis(user)

    async def ticket_changed(self, event: dict) -> None:
        await self.send_json({"id": event["id"], "action": event["action"]})
