"""What every page's navigation needs to know about the user (from dallosh.permissions)."""

from django.http import HttpRequest

from dallosh import permissions


def navigation(request: HttpRequest) -> dict:
    user = request.user
    return {"nav_teams": permissions.visible_teams(user), "can_ingest": permissions.can_ingest(user),
            "is_manager": permissions.is_manager(user)}
