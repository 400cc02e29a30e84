"""The reply drafts' collection (analysis.models.ReplyDraft): the only module that reaches
it raw. A draft moves queued → writing → ready or failed, each move compare-and-set on the
status it expects, so a worker that lost the draft to staleness never overwrites it."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo import ReturnDocument

from analysis.models import DraftStatus, ReplyDraft


def claim(*, key: ObjectId, now: datetime, created_after: datetime) -> dict | None:
    """The queued draft, now being written, or None (gone stale, or another worker has it)."""
    return ReplyDraft._get_collection().find_one_and_update(
        {"_id": key, "status": DraftStatus.QUEUED, "created_at": {"$gt": created_after}},
        {"$set": {"status": DraftStatus.WRITING, "updated_at": now}}, return_document=ReturnDocument.AFTER)


def finish(*, key: ObjectId, fields: dict, expected: str, now: datetime) -> dict | None:
    """The draft with its outcome written, or None when it was no longer `expected`."""
    return ReplyDraft._get_collection().find_one_and_update(
        {"_id": key, "status": expected}, {"$set": {**fields, "updated_at": now}},
        return_document=ReturnDocument.AFTER)


def latest(*, username: str, ticket_id: str) -> dict | None:
    """The user's newest draft for the ticket, on the (requested_by, ticket_id, created_at) index."""
    return ReplyDraft._get_collection().find_one({"requested_by": username, "ticket_id": ticket_id},
                                                 sort=[("created_at", -1)])


def count_in_flight(*, username: str, updated_after: datetime, up_to: ObjectId | None = None) -> int:
    """The user's drafts queued or being written, touched after `updated_after` (up to one, where given)."""
    query: dict = {"requested_by": username, "status": {"$in": list(DraftStatus.IN_FLIGHT)},
                   "updated_at": {"$gt": updated_after}}
    if up_to is not None:
        query["_id"] = {"$lte": up_to}
    return ReplyDraft._get_collection().count_documents(query)
