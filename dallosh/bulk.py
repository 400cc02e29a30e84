"""Bulk MongoDB helpers shared by the pipeline stages.

The embedded server answers `$in` queries in time that grows with the square of the list,
so lookups go in slices of LOOKUP_SLICE keys; bulk inserts tolerate documents that already
exist, which is what makes re-ingest and resume idempotent.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from dallosh.mongo import as_utc

logger = logging.getLogger(__name__)

LOOKUP_SLICE = 100
DUPLICATE_KEY = 11000


def slices(items: Iterable, size: int = LOOKUP_SLICE) -> Iterator[list]:
    """Bounded pieces of `items`, as lists (MongoDB's $in takes lists)."""
    return map(list, itertools.batched(items, size))


def find_by_values(collection: Collection, field: str, values: Iterable, projection: dict | None = None) -> list[dict]:
    """All documents whose `field` is one of `values`, looked up in bounded slices."""
    unique = list(dict.fromkeys(v for v in values if v is not None))
    found: list[dict] = []
    for part in slices(unique):
        found.extend(collection.find({field: {"$in": part}}, projection))
    return found


def insert_new(collection: Collection, documents: list[dict]) -> set:
    """Insert documents, skipping those whose _id exists already; returns the skipped _ids."""
    if not documents:
        return set()
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        other = [e for e in errors if e.get("code") != DUPLICATE_KEY]
        if other:
            raise
        return {documents[e["index"]]["_id"] for e in errors}
    return set()


# Nothing the product stores is older than Twitter itself.
EARLIEST = datetime(2006, 1, 1, tzinfo=UTC)


def busy_day_ranges(*, field: str, firsts: list[Callable[[datetime], datetime | None]],
                    until: datetime | None = None) -> Iterator[dict]:
    """day_ranges over the days some source holds something, and no other: each of `firsts`
    answers the first moment at or after a day that its source holds (one indexed read), so
    a history with years of gaps (the demo's 2017 tweets beside today's mail) costs its busy
    days, not its calendar (it cost one query per day since the first, thousands)."""
    until = until or datetime.now(UTC) + timedelta(days=1)
    day = EARLIEST
    while day < until:
        found = [as_utc(moment) for moment in (first(day) for first in firsts) if moment is not None]
        if not found:
            return
        start = min(found)
        day = max(day, datetime(start.year, start.month, start.day, tzinfo=UTC))
        if day >= until:
            return
        yield {field: {"$gte": day, "$lt": day + timedelta(days=1)}}
        day += timedelta(days=1)


def scan_by_day(collection: Collection, *, field: str, projection: dict, until: datetime | None = None
                ) -> Iterator[dict]:
    """Every document, one day of `field` at a time, the days that hold none skipped."""
    for day in busy_day_ranges(field=field, firsts=[lambda since: earliest([collection], field=field, since=since)],
                               until=until):
        yield from collection.find(day, projection)


def earliest(collections: list[Collection], *, field: str, since: datetime | None = None) -> datetime | None:
    """The smallest `field` over these collections (at or after `since`; one indexed read
    each), as aware UTC."""
    query = {field: {"$gte": since}} if since else {field: {"$ne": None}}
    found = [doc[field] for collection in collections
             for doc in collection.find(query, {field: 1}).sort(field, 1).limit(1)]
    if not found:
        return None
    first = min(as_utc(moment) for moment in found)
    return max(first, EARLIEST)


def written_lately(collection: Collection, window: dict, *, within: timedelta = timedelta(seconds=0.5)) -> bool:
    """Whether a document in `window` was written (its updated_at) in the last `within`: a
    rollup recounted now may still see that write's increment land after it."""
    recent = {**window, "updated_at": {"$gte": datetime.now(UTC) - within}}
    return collection.find_one(recent, {"_id": 1}) is not None


def recount_until_settled(window: dict, *, recount: Callable[[], tuple[bool, int] | None],
                          written_lately: Callable[[dict], bool], what: str, attempts: int = 50) -> int:
    """A rollup's day rebuilt while live writes go on. `recount()` does one compare-and-set
    pass over the day and says whether it verified, with how many figures it holds (None:
    the day holds nothing). The day is done again while it did not verify, or while
    `written_lately(window)` says one of its documents was written lately (that write's
    increment may still land on the new figures). A day that never settles keeps its last verified figures, with a
    warning. Returns the figures."""
    figures = 0
    for _ in range(attempts):
        outcome = recount()
        if outcome is None:
            return 0
        verified, figures = outcome
        if verified and not written_lately(window):
            return figures
        time.sleep(0.1)
    logger.warning("%s of %s kept changing during the rebuild; run it again in a quiet moment", what,
                   next(iter(window.values()))["$gte"])
    return figures
