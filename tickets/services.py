"""Ticket writes. A ticket is a customer conversation; ingestion calls these after the
conversation's tweets are stored."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from dallosh.bulk import find_by_values, insert_new
from ingestion.models import Tweet
from tickets.models import Ticket, TicketStatus

# "Hand out at once": a date in the past, rather than null, so the analysis queue is one
# indexed range query (needs_analysis, analysis_queued_until <= now).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AWAIT_ANALYSIS = {"needs_analysis": True, "analysis_claim": None, "analysis_lease_until": EPOCH,
                  "analysis_queued_until": EPOCH}

SUBJECT_CHARS = 280
TWEET_FIELDS = {"author": 1, "is_brand": 1, "is_retweet": 1, "is_duplicate": 1, "created_at": 1, "text": 1,
                "language": 1, "source": 1, "conversation_id": 1}


@dataclass
class TicketSync:
    created: int = 0
    updated: int = 0


def derive_ticket(conversation_id: str, tweets: list[dict]) -> dict | None:
    """The ticket fields a conversation's tweets imply, or None when no customer needs us.

    A conversation is a customer's when it holds at least one tweet by a customer (not the
    brand) that is neither a retweet nor a duplicate; those tweets are the ones that count.
    """
    ordered = sorted(tweets, key=lambda t: (t["created_at"], t["_id"]))
    customer = [t for t in ordered if not t["is_brand"] and not t["is_retweet"] and not t.get("is_duplicate")]
    if not customer:
        return None
    first = customer[0]
    replies = [t for t in ordered if t["is_brand"] and t["created_at"] >= first["created_at"]]
    return {
        "source": first["source"],
        "customer": first["author"],
        "language": first.get("language"),
        "subject": (first.get("text") or "")[:SUBJECT_CHARS],
        "created_at": first["created_at"],
        "last_activity_at": ordered[-1]["created_at"],
        "last_customer_tweet_at": customer[-1]["created_at"],
        "tweet_ids": [t["_id"] for t in ordered],
        "customer_tweet_count": len(customer),
        "brand_reply_count": sum(1 for t in ordered if t["is_brand"]),
        "first_brand_reply_at": replies[0]["created_at"] if replies else None,
    }


def sync_tickets(*, chunk_tweets: list[dict], rebuild: set[str], now: datetime) -> TicketSync:
    """Create or refresh the tickets of the conversations these tweets belong to.

    Conversations that began in this chunk are built from the chunk alone and inserted;
    those in `rebuild` (they existed before, or absorbed another) are rebuilt from every
    tweet stored for them. Idempotent: a replayed chunk yields the same tickets.
    """
    by_conversation: dict[str, list[dict]] = defaultdict(list)
    for tweet in chunk_tweets:
        by_conversation[tweet["conversation_id"]].append(tweet)
    fresh = {c: tweets for c, tweets in by_conversation.items() if c not in rebuild}
    result = TicketSync()
    documents = []
    for conversation_id, tweets in fresh.items():
        fields = derive_ticket(conversation_id, tweets)
        if fields:
            documents.append({"_id": conversation_id, **fields, **_workflow_defaults(now), "updated_at": now})
    already = insert_new(Ticket._get_collection(), documents)
    result.created = len(documents) - len(already)
    touched_customers = {c for c, tweets in by_conversation.items() if any(not t["is_brand"] for t in tweets)}
    created, updated = rebuild_tickets(conversation_ids=sorted(set(rebuild) | already), now=now,
                                       new_customer_tweets=touched_customers)
    result.created += created
    result.updated += updated
    return result


def rebuild_tickets(*, conversation_ids: list[str], now: datetime, new_customer_tweets: set[str] = frozenset()
                    ) -> tuple[int, int]:
    """Rebuild tickets from all their stored tweets; returns (created, updated)."""
    if not conversation_ids:
        return 0, 0
    stored: dict[str, list[dict]] = defaultdict(list)
    for tweet in find_by_values(Tweet._get_collection(), "conversation_id", conversation_ids, TWEET_FIELDS):
        stored[tweet["conversation_id"]].append(tweet)
    collection = Ticket._get_collection()
    created = updated = 0
    for conversation_id in conversation_ids:
        fields = derive_ticket(conversation_id, stored.get(conversation_id, []))
        if not fields:
            continue
        update = {"$set": {**fields, "updated_at": now}, "$setOnInsert": _workflow_defaults(now, with_analysis=False)}
        # New customer words call for a fresh analysis; a worker busy with the old text
        # loses its claim, so its answer is discarded rather than written over them.
        target = update["$set"] if conversation_id in new_customer_tweets else update["$setOnInsert"]
        target.update(AWAIT_ANALYSIS)
        outcome = collection.update_one({"_id": conversation_id}, update, upsert=True)
        created += outcome.upserted_id is not None
        updated += outcome.upserted_id is None
    return created, updated


def merge_tickets(*, merges: list[tuple[str, str]], now: datetime) -> None:
    """Mark the tickets of absorbed conversations as merged into the surviving one.

    They are kept (an agent may already have worked them), out of every queue.
    """
    for absorbed, into in merges:
        Ticket._get_collection().update_one(
            {"_id": absorbed},
            {"$set": {"status": TicketStatus.MERGED, "merged_into": into, "needs_analysis": False, "updated_at": now}},
        )


def _workflow_defaults(now: datetime, *, with_analysis: bool = True) -> dict:
    defaults = {"status": TicketStatus.NEW, "ingested_at": now, "merged_into": None, "assignee": None}
    if with_analysis:
        defaults.update(AWAIT_ANALYSIS)
    return defaults


# --- re-routing after rules change ------------------------------------------------------------


@dataclass
class Rerouted:
    scanned: int = 0
    changed: int = 0


def enqueue_reroute(*, requested_by: str) -> None:
    """Re-route on a worker: there may be millions of open tickets."""
    from django_q.tasks import async_task

    async_task("tickets.tasks.reroute_open_tickets", requested_by, group="routing")


def reroute_open_tickets(*, now: datetime | None = None) -> Rerouted:
    """Apply the current routing rules to every open, unassigned, analysed ticket.

    Tickets an agent holds are left alone. Each update re-checks that the ticket is still
    new and unassigned, so a claim made meanwhile wins.
    """
    from tickets import routing, selectors

    now = now or datetime.now(UTC)
    rules = routing.active_rules()
    result = Rerouted()
    collection = Ticket._get_collection()
    open_unassigned = {"status": TicketStatus.NEW, "assignee": None, "needs_analysis": False,
                       "analysis": {"$exists": True}}
    fields = {"analysis": 1, "language": 1, "customer": 1, "team": 1, "urgency": 1, "routing_rule": 1, "subject": 1}
    for ticket in collection.find(open_unassigned, fields).batch_size(1000):
        result.scanned += 1
        route = routing.decide_route(analysis=selectors.stored_analysis(ticket),
                                     text=selectors.routing_text(ticket),
                                     language=ticket.get("language"), author=ticket.get("customer"), rules=rules)
        if (route.team, route.urgency, route.rule) == (ticket.get("team"), ticket.get("urgency"),
                                                        ticket.get("routing_rule")):
            continue
        changed = collection.update_one({"_id": ticket["_id"], "status": TicketStatus.NEW, "assignee": None},
                                        {"$set": {"team": route.team, "urgency": route.urgency,
                                                  "routing_rule": route.rule, "routed_at": now, "updated_at": now}})
        result.changed += changed.modified_count
    return result
