"""The tickets collection's one owner: every read and write of a ticket document goes
through here, so its shape, its projections and its write rules live in one place.

Rows are typed (`TicketRow` and its narrower projections) as TypedDicts rather than
objects: they are exactly what pymongo returns, so the hot paths (a fast-tier batch, a
queue page, a KPI day) pay no conversion, keep their bulk writes, and still say what a
row holds. Every read names its projection; every query rides one of `Ticket`'s indexes
over a narrow range (the callers' docstrings say which).

The write rules: an agent-visible change is pinned to the version it was read at and
carries its audit entry (`pinned_update`); a bulk of them is marked with a token to tell
which landed; tickets are inserted only where new.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypedDict

from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, WriteError

from dallosh import bulk
from tickets.models import Ticket

logger = logging.getLogger(__name__)
# MongoDB's answers when a write would take a document past its 16 MB limit.
TOO_LARGE = {10334, 17419, 17420}


class TicketUnwritable(RuntimeError):
    """MongoDB refused the write: the ticket would pass the 16 MB document limit."""

    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"ticket {ticket_id} would pass MongoDB's 16 MB document limit")
        self.ticket_id = ticket_id


@contextlib.contextmanager
def refused_as_unwritable(ticket_id: str) -> Iterator[None]:
    """A write MongoDB refuses for size, raised as TicketUnwritable (others pass through)."""
    try:
        yield
    except WriteError as error:
        if error.code in TOO_LARGE:
            raise TicketUnwritable(ticket_id) from error
        raise


@contextlib.contextmanager
def skipping_unwritable(what: str) -> Iterator[None]:
    """The one policy for batches, watch loops and ingest chunks: one ticket that cannot be
    written is logged with its id and skipped, and the rest of the work goes on."""
    try:
        yield
    except TicketUnwritable as unwritable:
        logger.error("%s: %s; skipped", what, unwritable)


class AnalysisRow(TypedDict, total=False):
    """The model's answer as stored (tickets.models.TicketAnalysis)."""

    sentiment: str
    topic: str
    urgency: str
    team: str | None
    actionable: bool
    summary: str
    input_text: str
    provider: str
    model: str
    analysed_at: datetime
    review_flag: str | None
    confidence: dict[str, float]
    unsure: list[str]
    refine_fields: list[str]
    refine_basis: dict[str, Any]
    suggestion: dict[str, Any]
    fast_labels: dict[str, Any]


class CorrectionRow(TypedDict, total=False):
    sentiment: str
    topic: str
    urgency: str
    actionable: bool
    by: str
    at: datetime
    routed_urgency: str  # what routing gave, which the correction overrides (absent on older ones)


class WithdrawnCorrectionRow(CorrectionRow, total=False):
    """A correction withdrawn (tickets.models.WithdrawnCorrection): audit only, never learned from."""

    withdrawn_by: str
    withdrawn_at: datetime


class TicketRow(TypedDict, total=False):
    """A ticket document (tickets.models.Ticket); which keys a row has depends on its projection."""

    _id: str
    source: str
    customer: str
    language: str | None
    subject: str
    created_at: datetime
    last_activity_at: datetime
    last_customer_tweet_at: datetime | None
    tweet_ids: list[str]
    customer_tweet_count: int
    brand_reply_count: int
    first_brand_reply_at: datetime | None
    brand_answered_at: datetime | None
    status: str
    needs_analysis: bool
    merged_into: str | None
    ingested_at: datetime
    updated_at: datetime
    analysis: AnalysisRow
    team: str | None
    urgency: str | None
    routing_rule: str | None
    routed_at: datetime | None
    assignee: str | None
    topic: str | None
    sentiment: str | None
    correction: CorrectionRow | None  # the correction in force
    withdrawn_corrections: list[WithdrawnCorrectionRow]
    unsure: bool | None  # the labels in force are the fast tier's doubts, unsettled (Ticket.unsure)
    no_better_tier: bool | None  # of those doubts, some no LLM tier is expected to settle (Ticket.no_better_tier)
    queue_priority: int | None
    sla_due_at: datetime | None
    sla_state: str | None
    claimed_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    notes: list[dict[str, Any]]
    audit: list[dict[str, Any]]
    version: int
    analysis_claim: str | None
    analysis_lease_until: datetime
    analysis_queued_until: datetime
    analysis_solo: bool
    analysis_failures: int
    analysis_error: str | None
    needs_refinement: bool | None
    refine_rank: int | None
    refine_queued_until: datetime | None
    refine_unnoted: str | None


class QueueRow(TypedDict, total=False):
    """A ticket as a queue row shows it (Projection.QUEUE_ROW)."""

    _id: str
    subject: str
    language: str | None
    customer: str
    created_at: datetime
    team: str
    status: str
    urgency: str
    topic: str | None
    sentiment: str | None
    analysis: AnalysisRow  # summary, review_flag, provider, confidence
    needs_refinement: bool | None
    assignee: str | None
    queue_priority: int
    sla_due_at: datetime | None
    sla_state: str | None
    version: int
    correction: CorrectionRow | None  # by
    ingested_at: datetime  # with created_at: whether the row is replayed history
    unsure: bool | None


def _projection(fields: Mapping[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(fields))


class Projection:
    """The named shapes a ticket is read in."""

    WHOLE = None  # the ticket page: history included
    # its state, without its history (audit, notes, withdrawn corrections)
    STATE = _projection({"audit": 0, "notes": 0, "tweet_ids": 0, "withdrawn_corrections": 0})
    # what an action reads (a reply needs the tweet ids)
    WORKING = _projection({"audit": 0, "notes": 0, "withdrawn_corrections": 0})
    # what a merge carries: the working fields and the notes (not the history)
    WITH_NOTES = _projection({"audit": 0, "withdrawn_corrections": 0})
    QUEUE_ROW = _projection({"subject": 1, "language": 1, "channel": 1, "customer": 1, "created_at": 1, "team": 1,
                             "status": 1, "urgency": 1, "topic": 1, "sentiment": 1, "analysis.summary": 1,
                             "analysis.review_flag": 1, "analysis.provider": 1, "analysis.confidence": 1,
                             "needs_refinement": 1, "assignee": 1, "queue_priority": 1, "sla_due_at": 1,
                             "sla_state": 1, "version": 1, "correction.by": 1, "ingested_at": 1,
                             "unsure": 1})  # QueueRow
    RULE_PREVIEW = _projection({"subject": 1, "language": 1, "customer": 1, "team": 1, "urgency": 1, "analysis": 1})
    ANALYSIS_WORK = _projection({"_id": 1, "analysis_solo": 1, "analysis_lease_until": 1})
    LABELS = _projection({"analysis": 1, "correction": 1})  # what the fast tier learns from
    CORRECTION = _projection({"analysis": 1, "correction": 1, "language": 1})  # agreement, few-shot examples


def _tickets() -> Collection:
    return Ticket._get_collection()


def _fields(projection: Mapping[str, int] | None) -> dict | None:
    return None if projection is None else dict(projection)


# --- reads --------------------------------------------------------------------------------


def get(ticket_id: str, *, projection: Mapping[str, int] | None = Projection.STATE,
        where: Mapping | None = None) -> TicketRow | None:
    """One ticket by id (and `where`, e.g. a claim that must still hold)."""
    return _tickets().find_one({"_id": ticket_id, **(where or {})}, _fields(projection))


def get_many(ticket_ids: Iterable[str], *, projection: Mapping[str, int] | None = Projection.STATE) -> list[TicketRow]:
    """Tickets by id, in slices of point lookups; missing ids are left out."""
    return bulk.find_by_values(_tickets(), "_id", ticket_ids, _fields(projection))


def select(where: Mapping, *, projection: Mapping[str, int] | None, sort: list[tuple[str, int]] | None = None,
           limit: int = 0) -> list[TicketRow]:
    """The tickets `where` selects; the caller bounds it on an index (see Ticket.meta)."""
    cursor = _tickets().find(dict(where), _fields(projection))
    if sort:
        cursor = cursor.sort(sort)
    return list(cursor.limit(limit))


def exists(where: Mapping) -> bool:
    return _tickets().find_one(dict(where), {"_id": 1}) is not None


def count(where: Mapping, *, cap: int = 0) -> int:
    """How many tickets `where` selects, counting at most `cap` (0: no cap)."""
    return _tickets().count_documents(dict(where), **({"limit": cap} if cap else {}))


def group(pipeline: list[dict]) -> list[dict]:
    """An aggregation over the tickets; its first stage must $match on an index."""
    return list(_tickets().aggregate(pipeline))


def scan_by_created_day(*, projection: Mapping[str, int] | None) -> Iterator[TicketRow]:
    """Every ticket, one indexed day of created_at at a time (millions are never one query)."""
    return bulk.scan_by_day(_tickets(), field="created_at", projection=_fields(projection))


def first_created(since: datetime | None = None) -> datetime | None:
    """When the oldest ticket (at or after `since`) was written, None when there is none."""
    return bulk.earliest([_tickets()], field="created_at", since=since)


def written_lately(window: dict) -> bool:
    """A ticket in this created_at window was written in the last half second."""
    return bulk.written_lately(_tickets(), window)


# --- writes -------------------------------------------------------------------------------


def insert_new(documents: list[TicketRow]) -> set[str]:
    """Insert the tickets not stored yet; returns the ids that already were."""
    return bulk.insert_new(_tickets(), documents)


def recorded(changes: dict, *, by: str) -> dict:
    """The changes as written: a new status records who set it (`status_by`)."""
    return {**changes, "status_by": by} if "status" in changes else changes


def pinned_update(*, ticket: TicketRow, changes: dict, by: str, action: str, details: dict | None,
                  condition: dict | None, now: datetime, push: dict | None = None,
                  mark: dict | None = None, audit: bool = True) -> tuple[dict, dict]:
    """The filter and update that write `changes` to the ticket exactly as it was read (its
    version, and `condition`), with its audit entry (unless `audit` is False: a state the
    conversation itself implies), bumping the version. A new status records who set it
    (`status_by`), so the pipeline can tell a person's decision from what it derived."""
    pinned = {"version": ticket["version"]} if "version" in ticket else {"version": {"$exists": False}}
    fields = recorded(changes, by=by)
    pushed = {"audit": {"at": now, "by": by, "action": action, "details": details or {}}} if audit else {}
    update = {"$set": {**fields, "updated_at": now, **(mark or {})}, "$inc": {"version": 1}}
    if pushed or push:
        update["$push"] = {**pushed, **(push or {})}
    return {"_id": ticket["_id"], **pinned, **(condition or {})}, update


def write_pinned(**change: Any) -> bool:
    """pinned_update's write (same arguments); False when the ticket changed meanwhile,
    TicketUnwritable when MongoDB refuses it for size."""
    with refused_as_unwritable(change["ticket"]["_id"]):
        return _tickets().update_one(*pinned_update(**change)).modified_count == 1


@dataclass(frozen=True)
class PinnedWrite:
    """One ticket's share of write_pinned_many: the ticket as read, its new fields, the audit details."""

    ticket: TicketRow
    fields: dict
    details: dict


def write_pinned_many(writes: list[PinnedWrite], *, by: str, action: str, condition: dict | None,
                      now: datetime) -> set[str]:
    """Many pinned writes in one unordered bulk write; returns the ids whose write landed
    (each is marked with this call's token, read back to tell)."""
    token = uuid.uuid4().hex
    try:
        _tickets().bulk_write([UpdateOne(*pinned_update(ticket=w.ticket, changes=w.fields, by=by, action=action,
                                                        details=w.details, condition=condition, now=now,
                                                        mark={"write_token": token})) for w in writes],
                              ordered=False)
    except BulkWriteError as error:  # unordered: every other write was tried; those refused did not land
        for refused in error.details.get("writeErrors", []):
            logger.error("%s of ticket %s refused: %s", action, writes[refused["index"]].ticket["_id"],
                         refused.get("errmsg"))
    return {t["_id"] for t in get_many([w.ticket["_id"] for w in writes], projection={"write_token": 1})
            if t.get("write_token") == token}


def upsert_derived(*, ticket_id: str, update: dict) -> bool:
    """Write a ticket's fields derived from its conversation (creating it if need be);
    returns True when it was created."""
    with refused_as_unwritable(ticket_id):
        return _tickets().update_one({"_id": ticket_id}, update, upsert=True).upserted_id is not None


def update_where(where: Mapping, update: dict) -> bool:
    """One conditioned update (a claim or version that must still hold); False if it no longer did."""
    with refused_as_unwritable(str(where.get("_id", "?"))):
        return _tickets().update_one(dict(where), update).modified_count == 1


def set_fields(ticket_ids: list[str], fields: dict, *, where: Mapping | None = None) -> None:
    """Set bookkeeping fields (analysis queue marks) on these tickets, in slices; not agent-visible."""
    for part in bulk.slices(ticket_ids):
        _tickets().update_many({"_id": {"$in": part}, **(where or {})}, {"$set": fields})


def set_where(where: Mapping, fields: dict) -> int:
    """Set bookkeeping fields on the tickets `where` selects (on an index); not agent-visible."""
    return _tickets().update_many(dict(where), {"$set": fields}).modified_count
