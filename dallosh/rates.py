"""Fixed windows counted in MongoDB, shared by every process (Django's default cache is per
process): how many times someone did something in the current window (notes a minute,
failed logins a quarter of an hour). Windows expire on their own (a TTL index)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import mongoengine as me
from pymongo import ReturnDocument

MINUTE = timedelta(minutes=1)


class RateWindow(me.Document):
    key = me.StringField(primary_key=True)  # "<what>:<who>:<window start, epoch seconds>"
    count = me.IntField(default=0)
    expires_at = me.DateTimeField(required=True)

    meta = {"collection": "rate_windows", "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}]}


def _window(what: str, who: str, window: timedelta, now: datetime | None) -> tuple[str, datetime]:
    now = now or datetime.now(UTC)
    length = int(window.total_seconds())
    start = int(now.timestamp()) // length * length
    return f"{what}:{who}:{start}", datetime.fromtimestamp(start, UTC) + 2 * window


def count(*, what: str, who: str, window: timedelta = MINUTE, now: datetime | None = None) -> int:
    """One more `what` by `who` in the current window; returns how many there are now."""
    key, expires_at = _window(what, who, window, now)
    found = RateWindow._get_collection().find_one_and_update(
        {"_id": key}, {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": expires_at}},
        upsert=True, return_document=ReturnDocument.AFTER)
    return found["count"]


def current(*, what: str, who: str, window: timedelta = MINUTE, now: datetime | None = None) -> int:
    """How many `what` by `who` in the current window, counting none."""
    key, _expires = _window(what, who, window, now)
    found = RateWindow._get_collection().find_one({"_id": key}, {"count": 1})
    return found["count"] if found else 0
