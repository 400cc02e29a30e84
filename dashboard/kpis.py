"""KPI rollups: what the pipeline and the agents' actions add to the managers' figures.

A KPI request must not read millions of tickets, so every change to a ticket adds the
difference it makes to one document per day and one per hour (`KpiBucket`), keyed by the
day or hour the customer wrote. Inside a bucket, counters sit under a cell per
(team, topic, sentiment, urgency, language, channel): the filters a manager can apply. A period of
60 days is 60 documents, whatever the number of tickets.

A ticket's contribution (`contribution`) is a pure function of the ticket, so a change is
"take the old contribution out, put the new one in", and `rebuild_kpis` can recompute all
of it from the tickets after a restore.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from pymongo.errors import DuplicateKeyError

from dallosh.bulk import busy_day_ranges, find_by_values, recount_until_settled
from dallosh.mongo import as_utc
from dallosh.vocabulary import TWITTER, UNKNOWN_LANGUAGE
from dashboard.models import KpiBucket
from ingestion.store import first_tweet_created, tweets_created_in
from tickets import store
from tickets.models import SlaState, TicketStatus

GRAINS = ("d", "h")
# The ticket shapes the rollups and the outage watch read (tickets/store.py).
KPI_FIELDS = {"audit": 0, "notes": 0, "tweet_ids": 0, "subject": 0, "analysis.input_text": 0}


def bucket_start(moment: datetime, grain: str) -> datetime:
    moment = as_utc(moment)
    if grain == "d":
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return datetime(moment.year, moment.month, moment.day, moment.hour, tzinfo=UTC)


def bucket_id(start: datetime, grain: str) -> str:
    return f"{grain}:{start:%Y-%m-%dT%H}"


class Cell(NamedTuple):
    """The filters a manager can apply, as one bucket cell holds them."""

    team: str
    topic: str
    sentiment: str
    urgency: str
    language: str
    channel: str


def cell_key(*, team: str, topic: str, sentiment: str, urgency: str, language: str | None,
             channel: str | None = None) -> str:
    return "|".join((team, topic, sentiment, urgency, language or UNKNOWN_LANGUAGE, channel or TWITTER))


def parse_cell(key: str) -> Cell:
    """A cell key as written; one from before channels (five parts) is a tweet's."""
    parts = key.split("|")
    return Cell(*parts, TWITTER) if len(parts) == 5 else Cell(*parts)


def contribution(ticket: dict | None) -> tuple[datetime, str, dict[str, float]] | None:
    """What one ticket adds to the figures: None until it is analysed and routed, and once merged."""
    if (not ticket or not ticket.get("analysis") or not ticket.get("team") or not ticket.get("urgency")
            or ticket.get("status") == TicketStatus.MERGED):
        return None
    created = ticket["created_at"]
    counters: dict[str, float] = {
        "tickets": 1,
        "open": int(ticket["status"] in TicketStatus.OPEN),
        "resolved": int(ticket["status"] == TicketStatus.RESOLVED),
        "breached": int(ticket.get("sla_state") == SlaState.BREACHED),
        "corrected": int(bool(ticket.get("correction"))),
        f"provider:{ticket['analysis'].get('provider') or 'unknown'}": 1,
    }
    response_at = min((t for t in (ticket.get("first_brand_reply_at"), ticket.get("responded_at")) if t),
                      default=None)
    if response_at and response_at >= created:
        counters |= {"responded": 1, "response_s": _seconds(created, response_at)}
    if ticket["status"] == TicketStatus.RESOLVED and ticket.get("resolved_at") and ticket["resolved_at"] >= created:
        counters["resolution_s"] = _seconds(created, ticket["resolved_at"])
    key = cell_key(team=ticket["team"], topic=ticket.get("topic") or ticket["analysis"]["topic"],
                   sentiment=ticket.get("sentiment") or ticket["analysis"]["sentiment"],
                   urgency=ticket["urgency"], language=ticket.get("language"), channel=ticket.get("channel"))
    return created, key, counters


Sums = dict[tuple[datetime, str], Counter]  # (bucket start, grain) → counter path → amount


def buckets_between(*, grain: str, start: datetime | None, end: datetime, fields: dict | None = None) -> list[dict]:
    """The buckets of one grain starting in [start, end) (from the first when start is None),
    oldest first, on the (grain, start) index: what the KPI pages and the alert baselines read."""
    period = {"$gte": start, "$lt": end} if start else {"$lt": end}
    fields = {**fields, "start": 1} if fields else None
    return sorted(KpiBucket._get_collection().find({"grain": grain, "start": period}, fields),
                  key=lambda bucket: bucket["start"])


def held_days_span() -> tuple[datetime, datetime] | None:
    """The first and last day buckets that hold figures, or None: two reads of the (grain,
    start) index, one from each end."""
    held = {"grain": "d", "$or": [{"cells": {"$ne": {}}}, {"tweets": {"$ne": {}}}]}
    ends = [next(iter(KpiBucket._get_collection().find(held, {"start": 1}).sort("start", order).limit(1)), None)
            for order in (1, -1)]
    return None if ends[0] is None else (ends[0]["start"], ends[1]["start"])


def record_ticket_change(*, before: dict | None, after: dict | None) -> None:
    """Move the ticket's contribution from what it was to what it is (after the write)."""
    record_ticket_changes(pairs=[(before, after)])


def record_ticket_changes(*, pairs: list[tuple[dict | None, dict | None]]) -> None:
    """Move many tickets' contributions: one sum, one write per bucket."""
    sums: Sums = {}
    for before, after in pairs:
        old, new = contribution(before), contribution(after)
        if old != new:
            _add_contribution(sums, old, -1)
            _add_contribution(sums, new, +1)
    _write(sums)


def record_tweets(*, tweets: list[dict]) -> None:
    """Newly stored tweets, counted by the hour they were written, language and author kind."""
    sums: Sums = {}
    for tweet in tweets:
        _add_tweet(sums, tweet)
    _write(sums)


def count_stored_tweets(*, tweets: list[dict], **_signal) -> None:
    """ingestion.events.tweets_stored."""
    record_tweets(tweets=tweets)


def count_written_tickets(*, pairs: list[tuple[dict | None, dict | None]], **_signal) -> None:
    """tickets.events.tickets_written."""
    record_ticket_changes(pairs=pairs)


def rebuild_kpis() -> int:
    """Recompute every bucket from the tickets and tweets (after a restore or a bulk load),
    safely while live writes go on: one UTC day at a time (its day bucket and hour buckets,
    from one narrow range of the tickets' and tweets' created_at indexes). Each bucket is
    replaced only if its revision (every live increment bumps it) is still the one read
    before counting, and the day is counted again after; a day that moved meanwhile is done
    again, so no live increment is lost. Returns the buckets holding figures."""
    days = busy_day_ranges(field="created_at", firsts=[store.first_created, first_tweet_created, _first_day_bucket])
    return sum(_recount_kpi_day(window) for window in days)


def _first_day_bucket(since: datetime) -> datetime | None:
    """The first day bucket at or after `since` (a bucket with no ticket left is zeroed too)."""
    found = next(iter(KpiBucket._get_collection().find({"grain": "d", "start": {"$gte": since}}, {"start": 1})
                      .sort("start", 1).limit(1)), None)
    return found and found["start"]


def _recount_kpi_day(window: dict) -> int:
    """A day's buckets replaced and verified; done again while a ticket of that day was
    written in the last half second (its increment may still be in flight)."""
    day = window["created_at"]["$gte"]
    ids = [bucket_id(day, "d"), *(bucket_id(day + timedelta(hours=h), "h") for h in range(24))]

    def once() -> tuple[bool, int] | None:
        held = _revisions(ids)
        sums = _day_sums(window)
        if not held and not sums:
            return None
        written = {key: (rev or 0) + 1 for key, rev in held.items()} | {
            bucket_id(start, grain): 1 for start, grain in sums if bucket_id(start, grain) not in held}
        verified = _replace_buckets(day, held, sums) and _day_sums(window) == sums and _revisions(ids) == written
        return verified, len(sums)

    return recount_until_settled(window, recount=once, written_lately=store.written_lately,
                                 what="KPI buckets")


def _revisions(ids: list[str]) -> dict[str, int | None]:
    return {b["_id"]: b.get("rev") for b in find_by_values(KpiBucket._get_collection(), "_id", ids, {"rev": 1})}


def _day_sums(window: dict) -> Sums:
    sums: Sums = {}
    for ticket in store.select(window, projection=KPI_FIELDS):
        _add_contribution(sums, contribution(ticket), +1)
    for tweet in tweets_created_in(window, projection={"created_at": 1, "language": 1, "is_brand": 1}):
        _add_tweet(sums, tweet)
    return {key: Counter({path: value for path, value in counter.items() if value})
            for key, counter in sums.items() if any(counter.values())}


def _replace_buckets(day: datetime, held: dict[str, int | None], sums: Sums) -> bool:
    """Each of the day's buckets as counted, compare-and-set on its revision; an emptied
    bucket is emptied. False when one moved (a live increment) or appeared meanwhile."""
    buckets = KpiBucket._get_collection()
    counted = {bucket_id(start, grain): (start, grain, counter) for (start, grain), counter in sums.items()}
    for key in held.keys() | counted.keys():
        start, grain, counter = counted.get(key) or (_bucket_start_of(key), key[0], Counter())
        document = {"_id": key, "grain": grain, "start": start, "cells": {}, "tweets": {},
                    "rev": (held.get(key) or 0) + 1}
        for path, value in counter.items():
            section, rest = path.split(".", 1)
            if section == "cells":
                cell, name = rest.rsplit(".", 1)
                document["cells"].setdefault(cell, {})[name] = value
            else:
                document["tweets"][rest] = value
        if key not in held:
            try:
                buckets.insert_one(document)
            except DuplicateKeyError:
                return False
        elif buckets.replace_one({"_id": key, "rev": held[key]}, document).matched_count == 0:
            return False
    return True


def _bucket_start_of(key: str) -> datetime:
    return datetime.strptime(key[2:], "%Y-%m-%dT%H").replace(tzinfo=UTC)


def _add_contribution(sums: Sums, part: tuple[datetime, str, dict] | None, sign: int) -> None:
    if part is None:
        return
    created, key, counters = part
    for grain in GRAINS:
        bucket = sums.setdefault((bucket_start(created, grain), grain), Counter())
        for name, value in counters.items():
            bucket[f"cells.{key}.{name}"] += sign * value


def _add_tweet(sums: Sums, tweet: dict) -> None:
    kind = "brand" if tweet.get("is_brand") else "customer"
    for grain in GRAINS:
        bucket = sums.setdefault((bucket_start(tweet["created_at"], grain), grain), Counter())
        bucket[f"tweets.{tweet.get('language') or UNKNOWN_LANGUAGE}|{kind}"] += 1


def _write(sums: Sums) -> None:
    for (start, grain), changes in sums.items():
        _increment(start, grain, {path: value for path, value in changes.items() if value})


def _seconds(start: datetime, end: datetime) -> float:
    """A duration as MongoDB will give it back (dates are kept to the millisecond), so a
    contribution computed before a write equals the one computed from the stored ticket."""
    def stored(moment: datetime) -> datetime:
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    return (stored(end) - stored(start)).total_seconds()


def _increment(start: datetime, grain: str, changes: dict[str, float]) -> None:
    if not changes:
        return
    KpiBucket._get_collection().update_one(  # "rev": a rebuild replaces the bucket only if unchanged
        {"_id": bucket_id(start, grain)},
        {"$inc": {**changes, "rev": 1}, "$setOnInsert": {"grain": grain, "start": start}}, upsert=True)
