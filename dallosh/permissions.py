"""Who may do what: the one place pages, the DRF API and the websocket consumers ask.

Roles are Django groups:
- `agent`: works the queues of the teams they belong to. Team membership is a group per
  team (`team:tech`, `team:billing`, `team:commercial`), so admins manage it in the admin.
- `manager`: reads every queue and the KPI pages, and may act on any ticket (reassign,
  re-route, withdraw an agent's label correction) as a supervisor does.
- `admin`: Django admin, routing rules, users (superusers count as admins).
Ingestion (upload page, stream API) is for staff and the `ingest` group.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission

from dallosh.vocabulary import TEAMS

AGENT_GROUP = "agent"
MANAGER_GROUP = "manager"
ADMIN_GROUP = "admin"
INGEST_GROUP = "ingest"
TEAM_GROUP_PREFIX = "team:"

User = AbstractBaseUser | AnonymousUser


def team_group(team: str) -> str:
    return TEAM_GROUP_PREFIX + team


ROLE_GROUPS = (AGENT_GROUP, MANAGER_GROUP, ADMIN_GROUP, *(team_group(team) for team in TEAMS))


def _groups(user: User) -> set[str]:
    """The user's group names, read once per request object (they are asked often)."""
    cached = getattr(user, "_dallosh_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._dallosh_groups = cached
    return cached


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def is_admin(user: User) -> bool:
    return _active(user) and (user.is_superuser or ADMIN_GROUP in _groups(user))


def is_manager(user: User) -> bool:
    return _active(user) and (MANAGER_GROUP in _groups(user) or is_admin(user))


def is_agent(user: User) -> bool:
    return _active(user) and AGENT_GROUP in _groups(user)


def agent_teams(user: User) -> list[str]:
    """The teams whose queues an agent works, in vocabulary order."""
    if not is_agent(user):
        return []
    groups = _groups(user)
    return [team for team in TEAMS if team_group(team) in groups]


def visible_teams(user: User) -> list[str]:
    """Queues this user may read: every team for managers and admins, an agent's own teams."""
    return list(TEAMS) if is_manager(user) else agent_teams(user)


def can_view_team(user: User, team: str | None) -> bool:
    return team is not None and team in visible_teams(user)


def can_view_ticket(user: User, ticket: dict) -> bool:
    """A ticket is seen by its team's agents and by managers; one awaiting routing only by managers."""
    return is_manager(user) or can_view_team(user, ticket.get("team"))


def can_work_ticket(user: User, ticket: dict) -> bool:
    """Actions (claim, status, notes, corrections, re-route) follow read access."""
    return can_view_ticket(user, ticket)


def can_release_ticket(user: User, ticket: dict) -> bool:
    """Only the holder lets go of a ticket (or a manager, as a supervisor): a colleague
    releasing it would pull work out of someone's hands."""
    return can_work_ticket(user, ticket) and (ticket.get("assignee") == user.get_username() or is_manager(user))


def can_assign_ticket(user: User, ticket: dict) -> bool:
    """Handing a ticket to someone is a manager's action; an agent claims for themselves."""
    return is_manager(user) and can_work_ticket(user, ticket)


def can_withdraw_correction(user: User, ticket: dict) -> bool:
    """A correction is withdrawn by the agent who made it (a mistake of their own) or by a
    manager (a supervisor's review); a colleague who disagrees corrects it again instead,
    which keeps who said what in the activity log."""
    correction = ticket.get("correction")
    return bool(correction) and can_work_ticket(user, ticket) and (
        correction.get("by") == user.get_username() or is_manager(user))


def can_hold_tickets_of(user: User, team: str) -> bool:
    """Who may be assigned a team's ticket: that team's agents."""
    return team in agent_teams(user)


def can_read_kpis(user: User) -> bool:
    return is_manager(user)


def can_read_health(user: User) -> bool:
    """The system's health (provider errors and costs, workers, ingest file names) is a
    manager's: the overview page and /api/v1/health answer by this one rule."""
    return is_manager(user)


def can_ingest(user: User) -> bool:
    return _active(user) and (user.is_staff or INGEST_GROUP in _groups(user))


class CanIngest(BasePermission):
    message = "Only staff and members of the 'ingest' group may ingest tweets."

    def has_permission(self, request, view) -> bool:
        return can_ingest(request.user)


class CanReadKpis(BasePermission):
    message = "The KPIs are for managers."

    def has_permission(self, request, view) -> bool:
        return can_read_kpis(request.user)


class CanReadHealth(BasePermission):
    message = "The system's health is for managers."

    def has_permission(self, request, view) -> bool:
        return can_read_health(request.user)


class CanUseQueues(BasePermission):
    """Agents (of at least one team), managers and admins."""

    message = "Only agents, managers and admins may read ticket queues."

    def has_permission(self, request, view) -> bool:
        return bool(visible_teams(request.user))
