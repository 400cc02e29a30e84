"""Ticket reads."""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model

from dallosh.mongo import as_utc
from dallosh.permissions import AGENT_GROUP, can_view_ticket, team_group
from dallosh.vocabulary import TEAMS
from ingestion.selectors import tweets_by_ids
from tickets import routing, sla, store
from tickets.errors import TicketNotFound
from tickets.models import QueueDay, RoutingRule, TicketStatus
from tickets.store import Projection, QueueRow, TicketRow


@dataclass(frozen=True)
class RulePreview:
    scanned: int  # recent analysed tickets looked at
    matched: int
    examples: list[dict]


def rule_preview(*, rule: RoutingRule, recent: int, examples: int) -> RulePreview:
    """How many of the `recent` last analysed tickets this rule's conditions match, and a few
    of them: what an admin needs to see before saving a rule."""
    cursor = store.select({"analysis.analysed_at": {"$exists": True}}, projection=Projection.RULE_PREVIEW,
                          sort=[("analysis.analysed_at", -1)], limit=recent)
    scanned = matched = 0
    shown: list[dict] = []
    for ticket in cursor:
        scanned += 1
        if not routing.rule_matches(rule, analysis=routing.stored_analysis(ticket),
                                    text=routing.routing_text(ticket),
                                    language=ticket.get("language"), author=ticket.get("customer")):
            continue
        matched += 1
        if len(shown) < examples:
            shown.append({"id": ticket["_id"], "subject": ticket.get("subject", ""), "team": ticket.get("team"),
                          "urgency": ticket.get("urgency"), "topic": ticket["analysis"].get("topic")})
    return RulePreview(scanned=scanned, matched=matched, examples=shown)


# --- team queues ----------------------------------------------------------------------------

HOLDERS = ("me", "unassigned")


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""  # empty: the work to do (new and in progress)
    topic: str = ""
    sentiment: str = ""
    language: str = ""
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
    size = size or settings.DALLOSH_QUEUE["PAGE_SIZE"]
    start = Position.decode(cursor) if cursor else Position(sla.PRIORITIES[0])
    if filters.holder == "me":
        return _held_page(team=team, filters=filters, username=username, start=start, size=size)
    page = QueuePage(rows=[], next_cursor=None)
    config = settings.DALLOSH_QUEUE
    deadline = time.monotonic() + config["SCAN_BUDGET_MS"] / 1000
    kept = 0

    def wanted() -> int:
        """Candidates the next window should hold: the rows still missing, scaled by how
        selective the filters have proved so far."""
        missing = size - len(page.rows)
        share = max((kept + 1) / (page.examined + 1), 0.02)
        return min(int(missing / share) + 1, config["WINDOW_MAX"])

    for priority in sla.PRIORITIES:
        if priority > start.priority:
            continue
        after = (start.created_at, start.ticket_id) if priority == start.priority and start.created_at else None
        days = _directory(team, filters.statuses(), priority, since=after[0] if after else None,
                          unsure_only=filters.unsure)
        for low, high in _windows(days, after, wanted):
            fetched = _window_rows(team, filters.statuses(), priority, low, high, indexed=filters.indexed())
            page.examined += len(fetched)
            for row in fetched:
                if after and (row["created_at"], row["_id"]) <= after:
                    continue
                if filters.keeps(row, username):
                    kept += 1
                    page.rows.append(row)
                    if len(page.rows) == size:
                        page.next_cursor = Position(priority, row["created_at"], row["_id"]).encode()
                        return page
            if time.monotonic() >= deadline:
                page.searched_until = high
                page.next_cursor = Position(priority, high, "").encode()
                return page
    return page


def _directory(team: str, statuses: tuple[str, ...], priority: int, since: datetime | None,
               unsure_only: bool = False) -> list[tuple[datetime, int]]:
    """Days holding tickets of this priority, with how many, over the statuses shown (the
    unsure ones alone for the unsure view: a day's unsure tickets have a document of their
    own, read with the others on the same index and kept or left here)."""
    days: dict[datetime, int] = defaultdict(int)
    first_day = datetime(since.year, since.month, since.day, tzinfo=UTC) if since else None
    for status in statuses:
        query = {"team": team, "status": status, "priority": priority}
        if first_day:
            query["day"] = {"$gte": first_day}
        for day in QueueDay._get_collection().find(query, {"day": 1, "count": 1, "unsure": 1}):
            if day["count"] > 0 and (day.get("unsure") or not unsure_only):
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


# --- one ticket -----------------------------------------------------------------------------


def ticket_visible_to(*, user, ticket_id: str) -> TicketRow | None:
    """The ticket if `user` may see it, else None: whether it exists is not told apart."""
    ticket = ticket_for(ticket_id=ticket_id)
    return ticket if ticket is not None and can_view_ticket(user, ticket) else None


def visible_ticket(*, user, ticket_id: str) -> TicketRow:
    """The ticket for a page or an API route; TicketNotFound when it is not the user's to
    see (whether it exists or not is not told apart)."""
    ticket = ticket_visible_to(user=user, ticket_id=ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def ticket_for(*, ticket_id: str) -> TicketRow | None:
    """The whole ticket, history included (the ticket page)."""
    return store.get(ticket_id, projection=Projection.WHOLE)


def conversation(*, ticket: TicketRow) -> list[dict]:
    """Every tweet of the conversation in order: customer tweets and brand replies, each with
    its original and its cleaned text."""
    fields = {"author": 1, "is_brand": 1, "created_at": 1, "text": 1, "clean_text": 1, "language": 1,
              "is_retweet": 1, "is_duplicate": 1, "reply_to": 1, "tweet_id": 1}
    tweets = tweets_by_ids(ticket.get("tweet_ids", []), projection=fields)
    return sorted(tweets, key=lambda t: (t["created_at"], t["_id"]))


def team_agents(*, team: str) -> list[str]:
    """Usernames a team's ticket may be assigned to."""
    users = get_user_model().objects.filter(is_active=True, groups__name=AGENT_GROUP)
    return sorted(users.filter(groups__name=team_group(team)).values_list("username", flat=True))


AWAITING_CAP = 10_000


def held_by(*, username: str, team: str) -> int:
    """Open tickets of this team the user holds (the "assigned to me" view's count): an agent
    holds few, read on the (assignee, status) index."""
    return store.count({"assignee": username, "status": {"$in": list(TicketStatus.OPEN)}, "team": team})


def unsure_open(*, team: str) -> int:
    """Open tickets of this team whose labels the machine doubts (the "unsure" view's count
    and the queue's invitation to review them), from the queue directory: the team's open
    segment-days, read on its index, never a ticket."""
    total = 0
    for day in QueueDay._get_collection().find({"team": team, "status": {"$in": list(TicketStatus.OPEN)}},
                                               {"count": 1, "unsure": 1}):
        if day.get("unsure"):
            total += max(day["count"], 0)
    return total


def awaiting_analysis(*, cap: int = AWAITING_CAP) -> int:
    """Tickets not labelled yet (on the needs_analysis index; a merged one never is), counted
    up to `cap`: what an empty queue tells the agent is on its way."""
    return store.count({"needs_analysis": True}, cap=cap)


def backlog() -> dict[str, dict[str, int]]:
    """Tickets per team and open status, from the queue directory (never a scan of tickets)."""
    totals: dict[str, dict[str, int]] = {}
    pipeline = [{"$match": {"status": {"$in": list(TicketStatus.OPEN)}}},
                {"$group": {"_id": {"team": "$team", "status": "$status"}, "count": {"$sum": "$count"}}}]
    for group in QueueDay._get_collection().aggregate(pipeline):
        totals.setdefault(group["_id"]["team"], {})[group["_id"]["status"]] = group["count"]
    return totals


def breached_open(*, team: str | None = None) -> int:
    """Open tickets past their response target (the breach priorities), from the directory."""
    breach_priorities = [p for p in sla.PRIORITIES if p > sla.BREACH_BONUS]
    total = 0
    for status in TicketStatus.OPEN:
        for teamname in [team] if team else TEAMS:
            for priority in breach_priorities:
                for day in QueueDay._get_collection().find({"team": teamname, "status": status, "priority": priority},
                                                           {"count": 1}):
                    total += max(day["count"], 0)
    return total


def corrected_tickets(*, since: datetime, until: datetime | None = None) -> list[TicketRow]:
    """Tickets an agent corrected in the range (an indexed range on the correction's time:
    corrections are a person's work, thousands, never millions). Only corrections in force:
    a withdrawn one is no longer the ticket's `correction` (it sits in its history), so the
    few-shot examples and the agreement figures never read it."""
    query: dict = {"$gte": since}
    if until is not None:
        query["$lt"] = until
    return store.select({"correction.at": query}, projection=Projection.CORRECTION)
