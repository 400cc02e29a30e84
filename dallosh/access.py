"""Access that changes while a page is open: every live socket re-checks it.

A websocket is authorised when it connects; an admin who then removes an agent from a team,
changes their role or deactivates them must also end the live feed the agent already holds.
Every consumer joins its user's group; a change to a user's groups or account is announced
there once it commits, and each of the user's sockets re-reads the user and re-checks what
it serves (dallosh.permissions decides, as everywhere); the socket then judges every later
event with that fresh user. Should an announcement be lost, the user is read again at the
first event after ACCESS_TTL_S. Reading the user on every ticket event would cost a
database read per event per socket.
"""

from __future__ import annotations

import logging
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_save

from dallosh import live

logger = logging.getLogger(__name__)

FORBIDDEN = 4403  # close code the pages show as "not allowed" (and do not retry)
ACCESS_TTL_S = 30.0  # the longest a socket judges events with a user read before


def announce_access_changed(user_ids: set[int]) -> None:
    """After the transaction commits, tell each user's open sockets to re-check their access."""
    if user_ids:
        transaction.on_commit(lambda: _send(sorted(user_ids)))


def _send(user_ids: list[int]) -> None:
    """Best effort (dallosh/live.py): a socket that misses it re-checks on reconnect."""
    live.publish_all([({live.user_group(user_id)}, {"type": live.ACCESS_CHANGED}) for user_id in user_ids])


class AccessCheckedConsumer(AsyncJsonWebsocketConsumer):
    """A consumer whose subscription ends when its user loses the right to it.

    Subclasses say what the user must still be allowed (`still_allowed`, run in a thread
    with a freshly read user) and call `join` instead of accepting directly."""

    def still_allowed(self, user) -> bool:
        return False

    async def join(self, groups: list[str]) -> None:
        self.user_read_at = time.monotonic()
        self.groups = [*groups, live.user_group(self.scope["user"].pk)]
        for group in self.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def access_changed(self, event: dict) -> None:
        if not await database_sync_to_async(self._fresh_check)():
            await self.close(code=FORBIDDEN)

    async def current_user(self):
        """The user to judge an event with: the one read at connect or at the last access
        change, read again once it is older than ACCESS_TTL_S (None: the account is gone)."""
        if time.monotonic() - getattr(self, "user_read_at", 0.0) > ACCESS_TTL_S:
            fresh = await database_sync_to_async(self.fresh_user)()
            if fresh is None:
                return None
            self._remember(fresh)
        return self.scope["user"]

    def _remember(self, user) -> None:
        self.scope["user"] = user
        self.user_read_at = time.monotonic()

    def fresh_user(self):
        """The user as stored now (the scope's user caches its groups)."""
        return get_user_model().objects.filter(pk=self.scope["user"].pk).first()

    def _fresh_check(self) -> bool:
        user = self.fresh_user()
        if user is None or not self.still_allowed(user):
            return False
        self._remember(user)  # later events are judged with the groups as they are now
        return True


def connect_signals() -> None:
    """Called from the app's ready(): group membership and account changes re-check sockets."""
    user_model = get_user_model()
    m2m_changed.connect(_memberships_changed, sender=user_model.groups.through,
                        dispatch_uid="dallosh-access-memberships")
    post_save.connect(_account_saved, sender=user_model, dispatch_uid="dallosh-access-account")


def _memberships_changed(*, instance, action: str, reverse: bool, pk_set, **_kwargs) -> None:
    """user.groups.add/remove/clear (instance is the user) or group.user_set.… (instance is
    the group, pk_set the users; a clear is seen before it happens, to know who was in)."""
    if action == "pre_clear" and reverse:
        instance._dallosh_cleared = set(instance.user_set.values_list("pk", flat=True))
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        announce_access_changed({instance.pk})
    elif action == "post_clear":
        announce_access_changed(getattr(instance, "_dallosh_cleared", set()))
    else:
        announce_access_changed(set(pk_set or ()))


def _account_saved(*, instance, created: bool, **_kwargs) -> None:
    """Deactivated, demoted from superuser…: whatever changed, the sockets re-check."""
    if not created:
        announce_access_changed({instance.pk})
