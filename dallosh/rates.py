"""Fixed one-minute windows counted in MongoDB, shared by every process (Django's default
cache is per process): how many times a person did something this minute. Windows expire
on their own (a TTL index)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import mongoengine as me
from pymongo import ReturnDocument


class RateWindow(me.Document):
    key = me.StringField(primary_key=True)  # "<what>:<who>:<minute>"
    count = me.IntField(default=0)
    expires_at = me.DateTimeField(required=True)

    meta = {"collection": "rate_windows", "indexes": [{"fields": ["expires_at"], "expireAfterSeconds": 0}]}


def count_this_minute(*, what: str, who: str, now: datetime | None = None) -> int:
    """One more `what` by `who` in the current minute; returns how many there are now."""
    now = now or datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    window = RateWindow._get_collection().find_one_and_update(
        {"_id": f"{what}:{who}:{minute:%Y%m%d%H%M}"},
        {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": minute + timedelta(minutes=2)}},
        upsert=True, return_document=ReturnDocument.AFTER)
    return window["count"]
