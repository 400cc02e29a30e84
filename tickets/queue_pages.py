"""Team queues, page by page: the filters a queue view takes, the cursor that says where a
page starts, and the pager that reads the (team, status, priority, created_at) index in
windows the queue directory sizes, so a page costs about its rows whatever the backlog."""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from dallosh.mongo import as_utc
from dallosh.vocabulary import TWITTER
from tickets import directory, sla, store
from tickets.models import TicketStatus
from tickets.store import Projection, QueueRow

HOLDERS = ("me", "unassigned")


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""  # empty: the work to do (new and in progress)
    topic: str = ""
    sentiment: str = ""
    language: str = ""
    channel: str = ""  # twitter, email or call; empty: every channel
    holder: str = ""  # "me", "unassigned" or empty
    search: str = ""
    unsure: bool = False  # only the tickets whose labels the machine doubts (Ticket.unsure)

    def statuses(self) -> tuple[str, ...]:
        return (self.status,) if self.status else TicketStatus.TO_DO

    def indexed(self) -> dict:
        """The filters an index serves, added to each window's query: the unsure view reads
        its own partial index (and its own directory days), never the sure tickets."""
        return {"unsure": True} if self.unsure else {}

    def keeps(self, ticket: dict, username: str) -> bool:
        """The filters other than team and status, checked on a fetched row: the one test the
        pager and the live row check share."""
        if self.unsure and not ticket.get("unsure"):
            return False
        if self.topic and ticket.get("topic") != self.topic:
            return False
        if self.sentiment and ticket.get("sentiment") != self.sentiment:
            return False
        if self.language and ticket.get("language") != self.language:
            return False
        if self.channel and (ticket.get("channel") or TWITTER) != self.channel:  # none: from before e-mail
            return False
        if self.holder == "me" and ticket.get("assignee") != username:
            return False
        if self.holder == "unassigned" and ticket.get("assignee"):
            return False
        if self.search.startswith("@"):  # a customer: handles are stored without their @
            return self.search[1:].casefold() == (ticket.get("customer") or "").casefold()
        if self.search:
            needle = self.search.casefold()
            haystack = " ".join(filter(None, (ticket.get("subject"), (ticket.get("analysis") or {}).get("summary"),
                                              ticket.get("customer"))))
            return needle in haystack.casefold()
        return True


@dataclass(frozen=True)
class Position:
    """Where a page starts: a priority, then strictly after (created_at, id) within it."""

    priority: int
    created_at: datetime | None = None
    ticket_id: str = ""

    def encode(self) -> str:
        moment = self.created_at.isoformat() if self.created_at else ""
        return base64.urlsafe_b64encode(json.dumps([self.priority, moment, self.ticket_id]).encode()).decode()

    @classmethod
    def decode(cls, cursor: str) -> Position:
        """A cursor from a URL, exactly as encode() wrote it; anything else raises
        InvalidCursor. A hand-made one is refused rather than trusted: a naive date cannot be
        compared with the stored (aware) ones, a priority outside the queue's would page
        nothing, and a long one would only cost time to decode."""
        if len(cursor) > CURSOR_MAX_CHARS:
            raise InvalidCursor("too long")
        try:  # binascii.Error, UnicodeDecodeError and JSONDecodeError are ValueErrors
            priority, moment, ticket_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (ValueError, TypeError) as error:
            raise InvalidCursor("not a cursor") from error
        if type(priority) is not int or priority not in sla.PRIORITIES:
            raise InvalidCursor("no such priority")
        if not isinstance(moment, str) or not isinstance(ticket_id, str):
            raise InvalidCursor("not a cursor")
        if not moment:
            return cls(priority, None, ticket_id)
        try:
            created_at = datetime.fromisoformat(moment)
        except ValueError as error:
            raise InvalidCursor("not a date") from error
        if created_at.tzinfo is None:
            raise InvalidCursor("a date without its time zone")
        try:
            return cls(priority, created_at.astimezone(UTC), ticket_id)
        except OverflowError as error:  # year 1 or 9999 moved past the calendar's end
            raise InvalidCursor("a date out of range") from error


class InvalidCursor(ValueError):
    """A page cursor this server did not give."""


CURSOR_MAX_CHARS = 200  # encode() writes about 100


@dataclass
class QueuePage:
    rows: list[dict]
    next_cursor: str | None  # None: nothing after these rows
    searched_until: datetime | None = None  # the scan budget ran out at this age: "search further"
    examined: int = 0  # candidate tickets read to build the page


def queue_page(*, team: str, filters: QueueFilters, username: str, cursor: str = "",
               size: int | None = None) -> QueuePage:
    """One page of a team's queue: breached first, then urgency high → low, then oldest first.

    Keyset pagination over the (team, status, priority, created_at) index: the queue
    directory says which days hold tickets of each priority, so each query reads a window
    holding about the rows still wanted, whatever the store's size. The unsure view has its
    own directory days and partial index, so it reads unsure tickets only, in the same
    order (breached, then most urgent, then oldest: the doubts that matter most first).
    The other filters are checked on the rows read; when they are selective the page stops
    after SCAN_BUDGET_MS of reading and says how far it searched ("search further" goes on).
    `cursor` is a page's `next_cursor` (InvalidCursor otherwise; the forms refuse it first).
    """
    size = size or settings.DALLOSH_QUEUE.page_size
    start = Position.decode(cursor) if cursor else Position(sla.PRIORITIES[0])
    if filters.holder == "me":
        return _held_page(team=team, filters=filters, username=username, start=start, size=size)
    return QueuePager(team=team, filters=filters, username=username, size=size).read(start)


class QueuePager:
    """One page being read, window after window: the rows kept so far, the candidates
    examined, and the time left, in the open (the next window's size depends on them)."""

    def __init__(self, *, team: str, filters: QueueFilters, username: str, size: int) -> None:
        self.team, self.filters, self.username, self.size = team, filters, username, size
        self.page = QueuePage(rows=[], next_cursor=None)
        self.kept = 0
        self.window_max = settings.DALLOSH_QUEUE.window_max
        self.deadline = time.monotonic() + settings.DALLOSH_QUEUE.scan_budget_ms / 1000

    def wanted(self) -> int:
        """Candidates the next window should hold: the rows still missing, scaled by how
        selective the filters have proved so far."""
        missing = self.size - len(self.page.rows)
        share = max((self.kept + 1) / (self.page.examined + 1), 0.02)
        return min(int(missing / share) + 1, self.window_max)

    def read(self, start: Position) -> QueuePage:
        for priority in sla.PRIORITIES:
            if priority <= start.priority and self._read_priority(priority, start):
                break
        return self.page

    def _read_priority(self, priority: int, start: Position) -> bool:
        """Read this priority's windows in order; True once the page is full or out of time."""
        after = (start.created_at, start.ticket_id) if priority == start.priority and start.created_at else None
        days = _directory(self.team, self.filters.statuses(), priority, since=after[0] if after else None,
                          unsure_only=self.filters.unsure)
        for low, high in _windows(days, after, self.wanted):
            fetched = _window_rows(self.team, self.filters.statuses(), priority, low, high,
                                   indexed=self.filters.indexed())
            self.page.examined += len(fetched)
            for row in fetched:
                if (after and (row["created_at"], row["_id"]) <= after) or not self.filters.keeps(row, self.username):
                    continue
                self.kept += 1
                self.page.rows.append(row)
                if len(self.page.rows) == self.size:
                    self.page.next_cursor = Position(priority, row["created_at"], row["_id"]).encode()
                    return True
            if time.monotonic() >= self.deadline:
                self.page.searched_until = high
                self.page.next_cursor = Position(priority, high, "").encode()
                return True
        return False


def _directory(team: str, statuses: tuple[str, ...], priority: int, since: datetime | None,
               unsure_only: bool = False) -> list[tuple[datetime, int]]:
    """Days holding tickets of this priority, with how many, over the statuses shown (the
    unsure ones alone for the unsure view: a day's unsure tickets have a document of their
    own, read with the others on the same index and kept or left here)."""
    days: dict[datetime, int] = defaultdict(int)
    first_day = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    for day in directory.segment_days(team=team, statuses=statuses, priority=priority, since_day=first_day):
        if day["count"] > 0 and (day["unsure"] or not unsure_only):
            days[as_utc(day["day"])] += day["count"]
    return sorted(days.items())


def _windows(days: list[tuple[datetime, int]], after: tuple | None, wanted):
    """Time windows [low, high) to read in order, each holding about `wanted()` tickets:
    several quiet days together, or a slice of a busy one."""
    begin = after[0] if after else None
    index = 0
    while index < len(days):
        day, count = days[index]
        day_end = day + ONE_DAY
        if begin and day_end <= begin:
            index += 1
            continue
        low = max(day, begin) if begin else day
        if count > 2 * wanted():  # a busy day: slices sized by its density
            while low < day_end:
                high = min(low + max(ONE_DAY * (wanted() / count), MIN_WINDOW), day_end)
                yield low, high
                low = high
            index += 1
            continue
        total, last, target = 0, index, wanted()
        while last < len(days) and total < target and days[last][1] <= 2 * target:
            total += days[last][1]
            last += 1
        yield low, days[last - 1][0] + ONE_DAY
        index = last


def _window_rows(team: str, statuses: tuple[str, ...], priority: int, low: datetime, high: datetime, *,
                 indexed: dict) -> list[QueueRow]:
    """Each status is read on its own: an index walks one (team, status, priority) prefix
    (with `indexed`, the filters' own index: the unsure tickets' partial one)."""
    rows: list[QueueRow] = []
    for status in statuses:
        rows.extend(store.select(
            {"team": team, **indexed, "status": status, "queue_priority": priority,
             "created_at": {"$gte": low, "$lt": high}},
            projection=Projection.QUEUE_ROW))
    for row in rows:
        row["created_at"] = as_utc(row["created_at"])
    rows.sort(key=lambda row: (row["created_at"], row["_id"]))
    return rows


def _held_page(*, team: str, filters: QueueFilters, username: str, start: Position, size: int) -> QueuePage:
    """"Assigned to me": an agent holds few tickets, read whole through the (assignee, status) index."""
    rows = [row for status in filters.statuses()
            for row in store.select({"assignee": username, "status": status}, projection=Projection.QUEUE_ROW)
            if row.get("team") == team and row.get("queue_priority") is not None]
    for row in rows:
        row["created_at"] = as_utc(row["created_at"])
    rows = sorted((row for row in rows if filters.keeps(row, username)), key=_queue_order)
    if start.created_at:
        boundary = (-start.priority, start.created_at, start.ticket_id)
        rows = [row for row in rows if _queue_order(row) > boundary]
    page = QueuePage(rows=rows[:size], next_cursor=None, examined=len(rows))
    if len(rows) > size:
        last = page.rows[-1]
        page.next_cursor = Position(last["queue_priority"], last["created_at"], last["_id"]).encode()
    return page


def queue_row(*, ticket_id: str, team: str, filters: QueueFilters, username: str) -> QueueRow | None:
    """The ticket's row if it belongs on this queue view now, else None (live updates ask)."""
    row = store.get(ticket_id, projection=Projection.QUEUE_ROW)
    if (row is None or row.get("team") != team or row.get("status") not in filters.statuses()
            or row.get("queue_priority") is None or not filters.keeps(row, username)):
        return None
    row["created_at"] = as_utc(row["created_at"])
    return row


def _queue_order(row: dict) -> tuple:
    return -row["queue_priority"], row["created_at"], row["_id"]




ONE_DAY = timedelta(days=1)
MIN_WINDOW = timedelta(minutes=1)
