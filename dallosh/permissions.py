"""Who may do what: the one place pages, the API and (later) consumers ask.

Roles are Django groups. Ingestion (upload page, stream API) is for staff and for the
members of the "ingest" group (integration accounts that post the live stream).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission

INGEST_GROUP = "ingest"


def can_ingest(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_staff or user.groups.filter(name=INGEST_GROUP).exists()


class CanIngest(BasePermission):
    message = "Only staff and members of the 'ingest' group may ingest tweets."

    def has_permission(self, request, view) -> bool:
        return can_ingest(request.user)
