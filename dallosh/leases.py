"""Named leases in MongoDB: one holder at a time for work that must not run twice at once
(a training of the fast tier), across processes and machines.

A lease is one document whose `_id` is its name. Taking it is one atomic upsert that
matches only a free or expired lease: two takers race on the `_id`, the unique key lets one
win. A holder that dies leaves the lease to expire after its `ttl`, so nothing stays locked
for good.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import mongoengine as me
from pymongo.errors import DuplicateKeyError


class Lease(me.Document):
    name = me.StringField(primary_key=True)
    holder = me.StringField(required=True)
    since = me.DateTimeField(required=True)
    until = me.DateTimeField(required=True)

    meta = {"collection": "leases"}


class LeaseTaken(RuntimeError):
    """The lease is held by someone else, who is named with the time they took it."""


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def take(*, name: str, ttl: timedelta, holder: str | None = None) -> bool:
    """Take the lease if it is free or expired; False if someone holds it."""
    now = datetime.now(UTC)
    try:
        Lease._get_collection().update_one(
            {"_id": name, "until": {"$lt": now}},
            {"$set": {"holder": holder or this_process(), "since": now, "until": now + ttl}}, upsert=True)
    except DuplicateKeyError:
        return False
    return True


def give_back(*, name: str, holder: str | None = None) -> None:
    Lease._get_collection().delete_one({"_id": name, "holder": holder or this_process()})


@contextlib.contextmanager
def held(*, name: str, ttl: timedelta) -> Iterator[None]:
    """Run the block holding the lease; LeaseTaken, saying who holds it, if it is taken."""
    if not take(name=name, ttl=ttl):
        current = Lease.objects(name=name).first()
        who = f"{current.holder} since {current.since:%Y-%m-%d %H:%M} UTC" if current else "another process"
        raise LeaseTaken(f"{name} is already running ({who})")
    try:
        yield
    finally:
        give_back(name=name)
