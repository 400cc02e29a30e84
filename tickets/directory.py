"""The queue directory (tickets/models.QueueDay): how many tickets each queue segment
(team, status, priority, unsure or not) holds per day of age, kept by every ticket write
before and after it lands, so the queue pager jumps straight to the days that hold tickets
(and the "unsure" view to the days that hold unsure ones)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TypedDict

from pymongo.errors import DuplicateKeyError

from dallosh.bulk import busy_day_ranges, earliest, recount_until_settled
from tickets import store
from tickets.models import QueueDay, TicketStatus
from tickets.store import TicketRow

Segment = tuple[str, str, int, datetime, bool]  # team, status, priority, day, unsure


class SegmentDay(TypedDict):
    """One segment-day of the directory as read back: its day, how many tickets it holds,
    whether those are the unsure ones."""

    day: datetime
    count: int
    unsure: bool


def segment_days(*, team: str, statuses: Iterable[str], priority: int | None = None,
                 since_day: datetime | None = None) -> Iterator[SegmentDay]:
    """A team's segment-days over these statuses (one priority, from one day on, where
    given), read on the directory's (team, status, priority, day) index: what the pager and
    the counts read instead of tickets."""
    query: dict = {"team": team, "status": {"$in": list(statuses)}}
    if priority is not None:
        query["priority"] = priority
    if since_day is not None:
        query["day"] = {"$gte": since_day}
    for day in QueueDay._get_collection().find(query, {"day": 1, "count": 1, "unsure": 1}):
        yield {"day": day["day"], "count": day["count"], "unsure": bool(day.get("unsure"))}


def open_totals() -> dict[str, dict[str, int]]:
    """Tickets per team and open status, summed over the directory (never a scan of tickets)."""
    totals: dict[str, dict[str, int]] = {}
    pipeline = [{"$match": {"status": {"$in": list(TicketStatus.OPEN)}}},
                {"$group": {"_id": {"team": "$team", "status": "$status"}, "count": {"$sum": "$count"}}}]
    for group in QueueDay._get_collection().aggregate(pipeline):
        totals.setdefault(group["_id"]["team"], {})[group["_id"]["status"]] = group["count"]
    return totals


def queue_segment(ticket: TicketRow) -> Segment | None:
    """The queue segment a ticket sits in, None while it is not routed and once merged (it is
    in no queue). Whether the machine is unsure of it is part of it: a correction moves the
    ticket out of the unsure segment."""
    if not ticket.get("team") or ticket.get("queue_priority") is None or ticket.get("status") == TicketStatus.MERGED:
        return None
    created = ticket["created_at"]
    day = datetime(created.year, created.month, created.day, tzinfo=UTC)
    return ticket["team"], ticket["status"], ticket["queue_priority"], day, bool(ticket.get("unsure"))


def count_in_segment(segment: Segment, delta: int) -> None:
    team, status, priority, day, unsure = segment
    QueueDay._get_collection().update_one(
        {"_id": _segment_id(segment)},
        {"$inc": {"count": delta}, "$setOnInsert": {"team": team, "status": status, "priority": priority, "day": day,
                                                    "unsure": unsure}},
        upsert=True,
    )


def rebuild_queue_directory() -> int:
    """Recount every segment from the tickets (after a bulk load or a restore), safely while
    live writes go on: one day at a time (one narrow range of the created_at index), each
    day's counts written compare-and-set against what was read before counting, then
    counted again; a day that moved meanwhile is done again, so no live increment is lost.
    Documents are never deleted (the pager relies on that): an emptied segment reads 0.
    Returns the segments holding tickets."""
    days = busy_day_ranges(field="created_at", firsts=[
        store.first_created, lambda since: earliest([QueueDay._get_collection()], field="day", since=since)])
    return sum(_recount_queue_day(window) for window in days)


def _recount_queue_day(window: dict) -> int:
    """A day's counts set and verified; done again while a ticket of that day was written in
    the last half second (its move may still have a directory update in flight)."""
    day = window["created_at"]["$gte"]
    directory = QueueDay._get_collection()

    def once() -> tuple[bool, int] | None:
        held = {d["_id"]: d["count"] for d in directory.find({"day": day}, {"count": 1})}
        counted = _queue_counts(window, day)
        if not held and not counted:
            return None
        verified = _compare_and_set_counts(day, held, counted) and _queue_counts(window, day) == {
            d["_id"]: d["count"] for d in directory.find({"day": day, "count": {"$ne": 0}}, {"count": 1})}
        return verified, len(counted)

    return recount_until_settled(window, recount=once, written_lately=store.written_lately,
                                 what="queue directory")


def _queue_counts(window: dict, day: datetime) -> dict[str, int]:
    pipeline = [{"$match": {**window, "team": {"$ne": None}, "queue_priority": {"$ne": None},
                            "status": {"$ne": TicketStatus.MERGED}}},
                {"$group": {"_id": {"team": "$team", "status": "$status", "priority": "$queue_priority",
                                    "unsure": "$unsure"}, "count": {"$sum": 1}}}]
    counts: Counter = Counter()  # unsure None (sure, or written before the flag) and False are one segment
    for g in store.group(pipeline):
        key = g["_id"]
        counts[_segment_id((key["team"], key["status"], key["priority"], day, bool(key.get("unsure"))))] += g["count"]
    return dict(counts)


def _compare_and_set_counts(day: datetime, held: dict[str, int], counted: dict[str, int]) -> bool:
    """Write each count only where the document still holds what was read; False when one
    moved (a live change) or appeared meanwhile."""
    directory = QueueDay._get_collection()
    for segment_id in held.keys() | counted.keys():
        wanted = counted.get(segment_id, 0)
        if segment_id not in held:
            team, status, priority, *_ = segment_id.split("|")
            try:
                directory.insert_one({"_id": segment_id, "team": team, "status": status, "priority": int(priority),
                                      "day": day, "unsure": segment_id.endswith(UNSURE_SUFFIX), "count": wanted})
            except DuplicateKeyError:
                return False
        elif held[segment_id] != wanted and directory.update_one(
                {"_id": segment_id, "count": held[segment_id]}, {"$set": {"count": wanted}}).matched_count == 0:
            return False
    return True


def _segment_id(segment: Segment) -> str:
    """Sure segments keep the ids they had before unsure tickets were counted apart."""
    team, status, priority, day, unsure = segment
    return f"{team}|{status}|{priority}|{day:%Y-%m-%d}" + (UNSURE_SUFFIX if unsure else "")


UNSURE_SUFFIX = "|unsure"


def count_in_segments(deltas: Counter) -> None:
    for segment, delta in deltas.items():
        if segment is not None and delta:
            count_in_segment(segment, delta)
