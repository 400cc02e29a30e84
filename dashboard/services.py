"""KPI rollups: what the pipeline and the agents' actions add to the managers' figures.

A KPI request must not read millions of tickets, so every change to a ticket adds the
difference it makes to one document per day and one per hour (`KpiBucket`), keyed by the
day or hour the customer wrote. Inside a bucket, counters sit under a cell per
(team, topic, sentiment, urgency, language): the filters a manager can apply. A period of
60 days is 60 documents, whatever the number of tickets.

A ticket's contribution (`contribution`) is a pure function of the ticket, so a change is
"take the old contribution out, put the new one in", and `rebuild_kpis` can recompute all
of it from the tickets after a restore.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from dashboard.models import KpiBucket
from tickets.models import TicketStatus

GRAINS = ("d", "h")
UNKNOWN_LANGUAGE = "und"


def bucket_start(moment: datetime, grain: str) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if grain == "d":
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return datetime(moment.year, moment.month, moment.day, moment.hour, tzinfo=UTC)


def bucket_id(start: datetime, grain: str) -> str:
    return f"{grain}:{start:%Y-%m-%dT%H}"


def cell_key(*, team: str, topic: str, sentiment: str, urgency: str, language: str | None) -> str:
    return "|".join((team, topic, sentiment, urgency, language or UNKNOWN_LANGUAGE))


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
        "breached": int(ticket.get("sla_state") == "breached"),
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
                   urgency=ticket["urgency"], language=ticket.get("language"))
    return created, key, counters


def record_ticket_change(*, before: dict | None, after: dict | None) -> None:
    """Move the ticket's contribution from what it was to what it is (after the write)."""
    old, new = contribution(before), contribution(after)
    if old == new:
        return
    deltas: dict[tuple[datetime, str], Counter] = {}
    for part, sign in ((old, -1), (new, +1)):
        if part is None:
            continue
        created, key, counters = part
        for grain in GRAINS:
            bucket = deltas.setdefault((bucket_start(created, grain), grain), Counter())
            for name, value in counters.items():
                bucket[f"cells.{key}.{name}"] += sign * value
    for (start, grain), changes in deltas.items():
        _increment(start, grain, {path: value for path, value in changes.items() if value})


def record_tweets(*, tweets: list[dict]) -> None:
    """Newly stored tweets, counted by the hour they were written, language and author kind."""
    counts: Counter = Counter()
    for tweet in tweets:
        kind = "brand" if tweet.get("is_brand") else "customer"
        for grain in GRAINS:
            counts[(bucket_start(tweet["created_at"], grain), grain,
                    f"tweets.{tweet.get('language') or UNKNOWN_LANGUAGE}|{kind}")] += 1
    per_bucket: dict[tuple[datetime, str], dict[str, int]] = {}
    for (start, grain, path), count in counts.items():
        per_bucket.setdefault((start, grain), {})[path] = count
    for (start, grain), changes in per_bucket.items():
        _increment(start, grain, changes)


def rebuild_kpis() -> int:
    """Recompute every bucket from the tickets and tweets (after a restore or a bulk load)."""
    from ingestion.models import Tweet
    from tickets.models import Ticket

    KpiBucket._get_collection().delete_many({})
    batch: list[dict] = []
    for ticket in Ticket._get_collection().find({"analysis": {"$exists": True}}, {"audit": 0, "notes": 0,
                                                                                  "tweet_ids": 0}):
        record_ticket_change(before=None, after=ticket)
    fields = {"created_at": 1, "language": 1, "is_brand": 1}
    for tweet in Tweet._get_collection().find({}, fields).batch_size(5000):
        batch.append(tweet)
        if len(batch) == 5000:
            record_tweets(tweets=batch)
            batch = []
    record_tweets(tweets=batch)
    return KpiBucket._get_collection().count_documents({})


def _seconds(start: datetime, end: datetime) -> float:
    """A duration as MongoDB will give it back (dates are kept to the millisecond), so a
    contribution computed before a write equals the one computed from the stored ticket."""
    def stored(moment: datetime) -> datetime:
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    return (stored(end) - stored(start)).total_seconds()


def _increment(start: datetime, grain: str, changes: dict[str, float]) -> None:
    if not changes:
        return
    KpiBucket._get_collection().update_one(
        {"_id": bucket_id(start, grain)},
        {"$inc": changes, "$setOnInsert": {"grain": grain, "start": start}}, upsert=True)
