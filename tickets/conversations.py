"""Tickets derived from conversations: ingestion announces the conversations a chunk
touched (ingestion/events.py) and these build or refresh their tickets, merge the
conversations a late parent absorbed, and reopen the answered ones a customer wrote to
again. Derived fields are rebuilt; the workflow fields are never overwritten."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from dallosh.vocabulary import TWITTER
from ingestion.selectors import speaks_for_the_customer
from ingestion.store import tweets_of_conversations
from tickets import events, sla, store
from tickets.audit import AuditAction
from tickets.directory import count_in_segment, queue_segment
from tickets.models import AWAIT_ANALYSIS, TicketStatus
from tickets.services import apply_change
from tickets.store import Projection, TicketRow

logger = logging.getLogger(__name__)
SUBJECT_CHARS = 280
INGESTION = "system:ingestion"  # who the feed's own status moves are written by
TWEET_FIELDS = {"author": 1, "is_brand": 1, "is_retweet": 1, "is_duplicate": 1, "created_at": 1, "text": 1,
                "clean_text": 1, "display_text": 1,
                "language": 1, "source": 1, "conversation_id": 1, "channel": 1, "is_automated": 1,
                "mail.subject": 1}


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
    customer = [t for t in ordered if speaks_for_the_customer(t)]
    if not customer:
        return None
    first = customer[0]
    replies = [t for t in ordered if t["is_brand"] and t["created_at"] >= first["created_at"]]
    answered = [t for t in replies if t["created_at"] >= customer[-1]["created_at"]]
    return {
        "source": first["source"],
        "channel": first.get("channel") or TWITTER,
        "customer": first["author"],
        "language": first.get("language"),
        "subject": subject_of(first),
        "created_at": first["created_at"],
        "last_activity_at": ordered[-1]["created_at"],
        "last_customer_tweet_at": customer[-1]["created_at"],
        "tweet_ids": [t["_id"] for t in ordered],
        "customer_tweet_count": len(customer),
        "brand_reply_count": sum(1 for t in ordered if t["is_brand"]),
        "first_brand_reply_at": replies[0]["created_at"] if replies else None,
        # The brand had the last word: the conversation waits on the customer (since this reply).
        "brand_answered_at": answered[0]["created_at"] if answered else None,
    }


def subject_of(tweet: dict) -> str:
    """A ticket's title: its first customer tweet as cleaned (no links, mentions, emojis or
    entities, the French feed's stray "n" repaired), else as written; an e-mail's subject."""
    if (tweet.get("mail") or {}).get("subject"):
        return tweet["mail"]["subject"][:SUBJECT_CHARS]
    return (tweet.get("clean_text") or tweet.get("display_text") or tweet.get("text") or "")[:SUBJECT_CHARS]


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
            documents.append({"_id": conversation_id, **fields, **_workflow_defaults(now), "updated_at": now,
                              **_answered_defaults(fields)})
    already = store.insert_new(documents)
    result.created = len(documents) - len(already)
    created, updated = rebuild_tickets(conversation_ids=sorted(set(rebuild) | already), now=now)
    result.created += created
    result.updated += updated
    return result


def derive_from_conversations(*, chunk_tweets: list[dict], rebuild: set[str], merges: list[tuple[str, str]],
                              now: datetime) -> tuple[int, int]:
    """ingestion's ticket deriver (ingestion.events.derive_tickets): the tickets of those
    conversations, then the merges of the absorbed ones; returns (created, updated) for the
    job's counters."""
    synced = sync_tickets(chunk_tweets=chunk_tweets, rebuild=rebuild, now=now)
    merge_tickets(merges=merges, now=now)
    return synced.created, synced.updated


def rebuild_tickets(*, conversation_ids: list[str], now: datetime) -> tuple[int, int]:
    """Rebuild tickets from all their stored tweets; returns (created, updated).

    A ticket has new customer words (a fresh analysis; reopened if we had answered it) only
    when a customer tweet of its conversation is not among the tweets it held: a replayed
    chunk, an overlapping export or a stream client sending a tweet again changes nothing."""
    if not conversation_ids:
        return 0, 0
    stored: dict[str, list[dict]] = defaultdict(list)
    for tweet in tweets_of_conversations(conversation_ids, projection=TWEET_FIELDS):
        stored[tweet["conversation_id"]].append(tweet)
    previous = {t["_id"]: t for t in store.get_many(conversation_ids, projection=Projection.WORKING)}
    new_customer_tweets = {c for c in conversation_ids if _has_new_customer_words(previous.get(c), stored[c])}
    created = updated = 0
    answered: dict[str, datetime] = {}
    for conversation_id in conversation_ids:
        fields = derive_ticket(conversation_id, stored.get(conversation_id, []))
        if not fields:
            continue
        if fields["brand_answered_at"]:
            answered[conversation_id] = fields["brand_answered_at"]
        _enter_new_day(previous.get(conversation_id), fields["created_at"])
        inserted_defaults = _workflow_defaults(now, with_analysis=False)
        del inserted_defaults["version"]  # set by $inc: every rebuild is a change agents' writes must see
        update = {"$set": {**fields, "updated_at": now}, "$setOnInsert": inserted_defaults, "$inc": {"version": 1}}
        # New customer words call for a fresh analysis; a worker busy with the old text
        # loses its claim, so its answer is discarded rather than written over them.
        target = update["$set"] if conversation_id in new_customer_tweets else update["$setOnInsert"]
        target.update(AWAIT_ANALYSIS)
        try:
            inserted = store.upsert_derived(ticket_id=conversation_id, update=update)
        except store.TicketUnwritable as unwritable:  # its tweets are stored; the rest of the chunk goes on
            logger.error("ingestion: %s; its new tweets are stored but not on the ticket", unwritable)
            new_customer_tweets.discard(conversation_id)
            continue
        if conversation_id in previous:  # its figures move with it (a new first reply, an earlier start)
            events.written(pairs=[(previous[conversation_id], {**previous[conversation_id], **fields})])
        created += inserted
        updated += not inserted
    reopen_on_customer_reply(ticket_ids=[c for c in conversation_ids if c in new_customer_tweets and c in previous
                                         and c not in answered], now=now)
    await_customer_after_brand_reply(answered=answered, now=now)
    return created, updated


def _has_new_customer_words(ticket: TicketRow | None, tweets: list[dict]) -> bool:
    held = set((ticket or {}).get("tweet_ids") or [])
    return any(speaks_for_the_customer(t) and t["_id"] not in held for t in tweets)


def reopen_on_customer_reply(*, ticket_ids: list[str], now: datetime) -> int:
    """The customer wrote again on a ticket we had answered or closed: it needs us again,
    back in its queue with a fresh response target (once it has an urgency: an unanalysed one
    only forgets our answer, and routing sets its clock). The same whether the feed brought
    our reply and theirs in one chunk or in two."""
    reopened = 0
    answered = (TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED)
    for ticket in store.get_many(ticket_ids, projection=Projection.WORKING):
        if ticket.get("status") not in answered:
            continue
        status = TicketStatus.IN_PROGRESS if ticket.get("assignee") else TicketStatus.NEW
        clock = sla.fields_on_customer_reply(ticket, now) if ticket.get("urgency") else {"responded_at": None}
        changes = {"status": status, "resolved_at": None, **clock}
        with store.skipping_unwritable("ingestion (customer replied)"):
            written = apply_change(ticket=ticket, changes=changes, by=INGESTION, action=AuditAction.CUSTOMER_REPLIED,
                                   details={"status": [ticket["status"], status]}, now=now,
                                   audit=not _status_is_derived(ticket))
            reopened += written is not None
    return reopened


def await_customer_after_brand_reply(*, answered: dict[str, datetime], now: datetime) -> int:
    """The brand had the last word in these conversations (its replies arrive with the feed,
    or a replayed history holds them): a ticket still new or in progress now waits on the
    customer, and its response clock stops at the brand's reply, as when an agent records one."""
    moved = 0
    for ticket in store.get_many(list(answered), projection=Projection.WORKING):
        if ticket.get("status") not in (TicketStatus.NEW, TicketStatus.IN_PROGRESS):
            continue
        replied_at = answered[ticket["_id"]]
        changes = {"status": TicketStatus.WAITING_CUSTOMER, **sla.fields_on_response(ticket, replied_at)}
        with store.skipping_unwritable("ingestion (brand replied)"):
            written = apply_change(ticket=ticket, changes=changes, by=INGESTION, action=AuditAction.BRAND_REPLIED,
                                   details={"status": [ticket["status"], TicketStatus.WAITING_CUSTOMER]}, now=now,
                                   audit=not _status_is_derived(ticket))
            moved += written is not None
    return moved


def _status_is_derived(ticket: TicketRow) -> bool:
    """New or waiting on the customer as its conversation implied, not as a person set it.
    Moving between those states as the feed brings tweets is no event of its own (the tweets
    are in the conversation), so it writes no audit entry: a file ingested in pieces, in any
    order, leaves the same history as ingested once. Undoing a person's decision is audited."""
    return (ticket.get("status") in (TicketStatus.NEW, TicketStatus.WAITING_CUSTOMER)
            and ticket.get("status_by") in (None, INGESTION))


def _answered_defaults(fields: dict) -> dict:
    """A new ticket whose conversation already ends with the brand's reply waits on the customer."""
    if not fields["brand_answered_at"]:
        return {}
    return {"status": TicketStatus.WAITING_CUSTOMER, "responded_at": fields["brand_answered_at"]}


def _enter_new_day(before: TicketRow | None, created_at: datetime) -> None:
    """An earlier tweet joined a routed conversation: its age (queue place) changes."""
    if before is None:
        return
    entering = queue_segment({**before, "created_at": created_at})
    if entering and entering != queue_segment(before):
        count_in_segment(entering, +1)


def merge_tickets(*, merges: list[tuple[str, str]], now: datetime) -> None:
    """Mark the tickets of absorbed conversations as merged into the surviving one, and
    carry the people's work on them there (merge_work): nothing an agent did is orphaned.

    The absorbed ticket is kept (its history), out of every queue; its page and queue are
    told (the event names the survivor). A replay finds it merged and carries nothing twice.
    """
    for absorbed, into in merges:
        with store.skipping_unwritable("ingestion (merge)"):
            _merge(absorbed, into, now=now)


def _merge(absorbed: str, into: str, *, now: datetime) -> None:
    """One absorbed ticket merged into its survivor, its people's work carried (merge_work)."""
    for _attempt in range(MERGE_ATTEMPTS):  # each write is pinned to the version read
        before = store.get(absorbed, projection=Projection.WITH_NOTES)
        if before is None or (before.get("status") == TicketStatus.MERGED and before.get("merged_into") == into):
            break
        survivor = store.get(into, projection=Projection.WORKING)
        carried = merge_work(absorbed=before, survivor=survivor, now=now) if survivor else None
        if carried and not apply_change(ticket=survivor, changes=carried.changes, by=INGESTION,
                                        action=AuditAction.MERGED, details=carried.details, now=now,
                                        push={"notes": {"$each": carried.notes}} if carried.notes else None):
            continue  # the survivor changed meanwhile: read both again
        changes = {"status": TicketStatus.MERGED, "merged_into": into, "needs_analysis": False,
                   "assignee": None}
        if apply_change(ticket=before, changes=changes, by=INGESTION, action=AuditAction.MERGED_INTO,
                        details={"into": into}, now=now):
            break


MERGE_ATTEMPTS = 5


@dataclass(frozen=True)
class CarriedWork:
    changes: dict
    notes: list[dict]
    details: dict  # for the audit entry: what came from which ticket


def merge_work(*, absorbed: TicketRow, survivor: TicketRow, now: datetime) -> CarriedWork | None:
    """What of the absorbed ticket's people's work the survivor takes: every note; its holder,
    and the status a person gave it, unless the survivor has its own (with its team, urgency
    and queue place: the holder's ticket stays in the holder's queue); its agent's correction
    unless the survivor has one. None when there is nothing to carry."""
    changes: dict = {}
    if absorbed.get("assignee") and not survivor.get("assignee"):
        changes |= {"assignee": absorbed["assignee"], "claimed_at": absorbed.get("claimed_at")}
    if not _status_is_derived(absorbed) and _status_is_derived(survivor):
        changes |= {key: absorbed.get(key) for key in ("status", "resolved_at", "responded_at")}
    if absorbed.get("correction") and not survivor.get("correction"):
        changes |= {key: absorbed.get(key) for key in ("correction", "sentiment", "topic", "urgency")}
        changes["unsure"] = False
    if changes and absorbed.get("team") and absorbed.get("urgency"):
        changes |= {"team": absorbed["team"], "urgency": absorbed["urgency"],
                    "routing_rule": absorbed.get("routing_rule")}
        changes |= sla.fields_for_urgency({**survivor, **changes}, absorbed["urgency"], now)
    notes = list(absorbed.get("notes") or [])
    if not changes and not notes:
        return None
    details = {"absorbed": absorbed["_id"], "notes": len(notes),
               **{key: [survivor.get(key), value] for key, value in changes.items()
                  if key in ("assignee", "status", "team")}}
    if notes:
        changes["note_count"] = (survivor.get("note_count") or 0) + len(notes)
    return CarriedWork(changes=changes, notes=notes, details=details)


def _workflow_defaults(now: datetime, *, with_analysis: bool = True) -> dict:
    defaults = {"status": TicketStatus.NEW, "ingested_at": now, "merged_into": None, "assignee": None, "version": 0}
    if with_analysis:
        defaults.update(AWAIT_ANALYSIS)
    return defaults
