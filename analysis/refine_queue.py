"""The refinement queue: which unsure tickets the LLM chain takes next, and none left behind.

A ticket awaiting refinement carries `needs_refinement` and `refine_rank` (its urgency: 0
high, 1 medium, 2 low); the queue is read most urgent first, oldest first. A query costs
what its index bounds hold, not its limit, and the backlog can hold millions of tickets, so
each urgency is read in created_at windows from its cursor (`RefineCursor.oldest`): no ticket
of that urgency awaits refinement before it. Keeping that promise across processes:

- A cursor moves forward only by compare-and-set on its `epoch`, which every write that makes
  a ticket due bumps after the write (`note_due`). A ticket made due while a reader found its
  window empty makes the reader's move fail, instead of being skipped for good (checking then
  moving is two steps; another process can write between them).
- The write that makes a ticket due marks it `refine_unnoted` in the same update, and the
  mark goes once its cursor has been moved back to it. A writer that dies in between leaves
  the mark, and the sweeper notes the ticket for it (`note_unnoted`): the marked tickets are
  few (writes in flight) and indexed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from analysis.models import RefineCursor
from dallosh.mongo import as_utc
from dallosh.vocabulary import URGENCIES
from tickets import store
from tickets.models import EPOCH
from tickets.store import TicketRow

FIRST_WINDOW = timedelta(days=1)
NOTED = {"refine_unnoted": None}  # clears the mark: part of every write that settles a refinement


def due_fields(*, urgency: str) -> dict:
    """The fields that put a ticket in the queue, in the write that decides it (the mark is
    this write's own, so a later write's mark is never cleared by this one's note)."""
    return {"needs_refinement": True, "refine_rank": URGENCIES.index(urgency), "refine_queued_until": EPOCH,
            "refine_unnoted": uuid.uuid4().hex}


def note_due(tickets: list[TicketRow]) -> None:
    """After the write: move each urgency's cursor back to its oldest newly due ticket, then
    clear their marks."""
    due = [t for t in tickets if t.get("needs_refinement") and t.get("refine_unnoted")]
    oldest: dict[int, datetime] = {}
    for ticket in due:
        rank = ticket["refine_rank"]
        oldest[rank] = min(oldest.get(rank, ticket["created_at"]), ticket["created_at"])
    for rank, created_at in oldest.items():
        RefineCursor._get_collection().update_one({"_id": rank}, {"$min": {"oldest": created_at},
                                                                  "$inc": {"epoch": 1}}, upsert=True)
    if due:
        store.set_fields([t["_id"] for t in due], NOTED,
                         where={"refine_unnoted": {"$in": [t["refine_unnoted"] for t in due]}})


def note_unnoted(*, limit: int = 1000) -> int:
    """The sweeper's repair: note the due tickets whose writer died before noting them (and
    clear the marks a settled refinement left). Returns how many were noted."""
    marked = store.select({"refine_unnoted": {"$gt": ""}}, limit=limit, projection={
        "created_at": 1, "refine_rank": 1, "needs_refinement": 1, "refine_unnoted": 1})
    note_due(marked)
    settled = [t["_id"] for t in marked if not t.get("needs_refinement")]
    if settled:
        store.set_fields(settled, NOTED)
    return len(marked) - len(settled)


def due(*, limit: int, now: datetime) -> list[TicketRow]:
    """Unsure tickets not queued or held, most urgent first, oldest first within an urgency,
    read in created_at windows from each urgency's cursor (widening fourfold while they hold
    too few), so no read spans the whole backlog."""
    found: list[TicketRow] = []
    for cursor in RefineCursor.objects.order_by("id"):
        found += _due_at_rank(cursor, limit=limit - len(found), now=now)
        if len(found) >= limit:
            break
    return found


def _due_at_rank(cursor: RefineCursor, *, limit: int, now: datetime) -> list[TicketRow]:
    found: list[TicketRow] = []
    start, window, movable = as_utc(cursor.oldest or EPOCH), FIRST_WINDOW, True
    while len(found) < limit and start <= now:
        bounds = {"needs_refinement": True, "refine_rank": cursor.id, "created_at": {"$gte": start,
                                                                                    "$lt": start + window}}
        rows = store.select({**bounds, "refine_queued_until": {"$lte": now}},
                            projection=store.Projection.ANALYSIS_WORK, limit=limit - len(found))
        found += [r for r in rows if as_utc(r.get("analysis_lease_until") or EPOCH) <= now]
        # Only a contiguous run of empty windows from the cursor moves it.
        movable = movable and not store.exists(bounds) and _move_cursor(cursor, to=start + window)
        start, window = start + window, window * 4
    return found


def _move_cursor(cursor: RefineCursor, *, to: datetime) -> bool:
    """Move the cursor forward unless a ticket was made due since it was read (its epoch moved)."""
    # A cursor written before epochs has none: it reads as 0.
    read_at = {"epoch": cursor.epoch} if cursor.epoch else {"epoch": {"$in": [0, None]}}
    return RefineCursor._get_collection().update_one({"_id": cursor.id, **read_at},
                                                     {"$max": {"oldest": to}}).matched_count == 1


