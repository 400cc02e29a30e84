"""Ticket writes. A ticket is a customer conversation; ingestion calls these after the
conversation's tweets are stored."""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

from dallosh.bulk import day_ranges, earliest, find_by_values, insert_new, scan_by_day, written_lately
from dallosh.permissions import can_assign_ticket, can_hold_tickets_of, can_release_ticket, can_work_ticket
from dallosh.vocabulary import TEAMS, VOCABULARY, labels_in_force
from ingestion import events as ingestion_events
from ingestion.models import Tweet
from ingestion.selectors import speaks_for_the_customer
from tickets import events, routing, selectors, sla
from tickets.models import QueueDay, SlaState, Ticket, TicketStatus

# "Hand out at once": a date in the past, rather than null, so the analysis queue is one
# indexed range query (needs_analysis, analysis_queued_until <= now).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AWAIT_ANALYSIS = {"needs_analysis": True, "analysis_claim": None, "analysis_lease_until": EPOCH,
                  "analysis_queued_until": EPOCH}

SUBJECT_CHARS = 280
TWEET_FIELDS = {"author": 1, "is_brand": 1, "is_retweet": 1, "is_duplicate": 1, "created_at": 1, "text": 1,
                "language": 1, "source": 1, "conversation_id": 1}

logger = logging.getLogger(__name__)


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


def derive_from_conversations(*, chunk_tweets: list[dict], rebuild: set[str], merges: list[tuple[str, str]],
                              now: datetime, **_signal) -> tuple[int, int]:
    """ingestion.events.conversations_touched: the tickets of those conversations, then the
    merges of the absorbed ones; returns (created, updated) for the job's counters."""
    synced = sync_tickets(chunk_tweets=chunk_tweets, rebuild=rebuild, now=now)
    merge_tickets(merges=merges, now=now)
    return synced.created, synced.updated


def rebuild_tickets(*, conversation_ids: list[str], now: datetime, new_customer_tweets: set[str] = frozenset()
                    ) -> tuple[int, int]:
    """Rebuild tickets from all their stored tweets; returns (created, updated)."""
    if not conversation_ids:
        return 0, 0
    stored: dict[str, list[dict]] = defaultdict(list)
    for tweet in find_by_values(Tweet._get_collection(), "conversation_id", conversation_ids, TWEET_FIELDS):
        stored[tweet["conversation_id"]].append(tweet)
    collection = Ticket._get_collection()
    previous = {t["_id"]: t for t in find_by_values(collection, "_id", conversation_ids, WITHOUT_HISTORY)}
    created = updated = 0
    for conversation_id in conversation_ids:
        fields = derive_ticket(conversation_id, stored.get(conversation_id, []))
        if not fields:
            continue
        _enter_new_day(previous.get(conversation_id), fields["created_at"])
        inserted_defaults = _workflow_defaults(now, with_analysis=False)
        del inserted_defaults["version"]  # set by $inc: every rebuild is a change agents' writes must see
        update = {"$set": {**fields, "updated_at": now}, "$setOnInsert": inserted_defaults, "$inc": {"version": 1}}
        # New customer words call for a fresh analysis; a worker busy with the old text
        # loses its claim, so its answer is discarded rather than written over them.
        target = update["$set"] if conversation_id in new_customer_tweets else update["$setOnInsert"]
        target.update(AWAIT_ANALYSIS)
        outcome = collection.update_one({"_id": conversation_id}, update, upsert=True)
        if conversation_id in previous:  # its figures move with it (a new first reply, an earlier start)
            events.written(pairs=[(previous[conversation_id], {**previous[conversation_id], **fields})])
        created += outcome.upserted_id is not None
        updated += outcome.upserted_id is None
    reopen_on_customer_reply(ticket_ids=[c for c in conversation_ids if c in new_customer_tweets and c in previous],
                             now=now)
    return created, updated


def reopen_on_customer_reply(*, ticket_ids: list[str], now: datetime) -> int:
    """The customer wrote again on a ticket we had answered or closed: it needs us again,
    back in its queue with a fresh response target."""
    reopened = 0
    answered = (TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED)
    for ticket in find_by_values(Ticket._get_collection(), "_id", ticket_ids, {"audit": 0, "notes": 0}):
        if ticket.get("status") not in answered or not ticket.get("urgency"):
            continue
        status = TicketStatus.IN_PROGRESS if ticket.get("assignee") else TicketStatus.NEW
        changes = {"status": status, "resolved_at": None, **sla.fields_on_customer_reply(ticket, now)}
        written = apply_change(ticket=ticket, changes=changes, by="system:ingestion", action="customer_replied",
                               details={"status": [ticket["status"], status]}, now=now)
        reopened += written is not None
    return reopened


WITHOUT_HISTORY = {"audit": 0, "notes": 0, "tweet_ids": 0}


def _enter_new_day(before: dict | None, created_at: datetime) -> None:
    """An earlier tweet joined a routed conversation: its age (queue place) changes."""
    if before is None:
        return
    entering = queue_segment({**before, "created_at": created_at})
    if entering and entering != queue_segment(before):
        count_in_segment(entering, +1)


def merge_tickets(*, merges: list[tuple[str, str]], now: datetime) -> None:
    """Mark the tickets of absorbed conversations as merged into the surviving one.

    They are kept (an agent may already have worked them), out of every queue; the queue
    directory forgets them when the write applied to the version read.
    """
    collection = Ticket._get_collection()
    for absorbed, into in merges:
        before = collection.find_one({"_id": absorbed}, WITHOUT_HISTORY)
        if before is None:
            continue
        update = {"$set": {"status": TicketStatus.MERGED, "merged_into": into, "needs_analysis": False,
                           "updated_at": now}, "$inc": {"version": 1}}
        if collection.update_one({"_id": absorbed, "version": before.get("version")}, update).modified_count:
            if queue_segment(before):
                count_in_segment(queue_segment(before), -1)
            events.written(pairs=[(before, None)])
        else:  # changed meanwhile: merge it all the same; its directory count only runs high
            collection.update_one({"_id": absorbed}, update)


def _workflow_defaults(now: datetime, *, with_analysis: bool = True) -> dict:
    defaults = {"status": TicketStatus.NEW, "ingested_at": now, "merged_into": None, "assignee": None, "version": 0}
    if with_analysis:
        defaults.update(AWAIT_ANALYSIS)
    return defaults


# --- routing a ticket --------------------------------------------------------------------------


def routed_fields(*, ticket: dict, route: routing.Route, now: datetime) -> dict:
    """What routing writes on a ticket: the route's team and rule, the urgency in force (an
    agent's corrected urgency outlives any re-routing), and the SLA target it sets. The one
    step the analysis and the re-routing after a rule change share."""
    urgency = labels_in_force(ticket.get("analysis"), ticket.get("correction"))["urgency"] \
        if ticket.get("correction") else route.urgency
    return {"team": route.team, "urgency": urgency, "routing_rule": route.rule, "routed_at": now,
            **sla.fields_for_urgency(ticket, urgency, now)}


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
    now = now or datetime.now(UTC)
    rules = routing.active_rules()
    result = Rerouted()
    collection = Ticket._get_collection()
    # One indexed day at a time: millions of open tickets are never asked for in one query.
    for ticket in scan_by_day(collection, field="created_at", projection=WITHOUT_HISTORY):
        if (ticket.get("status") != TicketStatus.NEW or ticket.get("assignee") or ticket.get("needs_analysis")
                or not ticket.get("analysis")):
            continue
        result.scanned += 1
        route = routing.decide_route(analysis=selectors.stored_analysis(ticket),
                                     text=selectors.routing_text(ticket),
                                     language=ticket.get("language"), author=ticket.get("customer"), rules=rules)
        changes = routed_fields(ticket=ticket, route=route, now=now)
        if (changes["team"], changes["urgency"], changes["routing_rule"]) == (
                ticket.get("team"), ticket.get("urgency"), ticket.get("routing_rule")):
            continue
        written = apply_change(ticket=ticket, changes=changes, by="system:routing", action="rerouted",
                               details={"team": [ticket.get("team"), route.team], "rule": route.rule},
                               condition={"status": TicketStatus.NEW, "assignee": None}, now=now)
        result.changed += written is not None
    return result


# --- the queue directory (tickets/models.QueueDay) --------------------------------------------

Segment = tuple[str, str, int, datetime]  # team, status, priority, day


def queue_segment(ticket: dict) -> Segment | None:
    """The queue segment a ticket sits in, None while it is not routed."""
    if not ticket.get("team") or ticket.get("queue_priority") is None:
        return None
    created = ticket["created_at"]
    day = datetime(created.year, created.month, created.day, tzinfo=UTC)
    return ticket["team"], ticket["status"], ticket["queue_priority"], day


def count_in_segment(segment: Segment, delta: int) -> None:
    team, status, priority, day = segment
    QueueDay._get_collection().update_one(
        {"_id": _segment_id(segment)},
        {"$inc": {"count": delta}, "$setOnInsert": {"team": team, "status": status, "priority": priority, "day": day}},
        upsert=True,
    )


def rebuild_queue_directory() -> int:
    """Recount every segment from the tickets (after a bulk load or a restore), safely while
    live writes go on: one day at a time (one narrow range of the created_at index), each
    day's counts written compare-and-set against what was read before counting, then
    counted again; a day that moved meanwhile is done again, so no live increment is lost.
    Documents are never deleted (the pager relies on that): an emptied segment reads 0.
    Returns the segments holding tickets."""
    since = min(filter(None, (earliest([Ticket._get_collection()], field="created_at"),
                              earliest([QueueDay._get_collection()], field="day"))), default=None)
    if since is None:
        return 0
    return sum(_recount_queue_day(window) for window in day_ranges(field="created_at", since=since))


def _recount_queue_day(window: dict, *, attempts: int = 50) -> int:
    """A day's counts, set and verified; while a ticket of that day was written in the last
    second (its move may still have a directory update in flight, which would land on the
    new count), the day is done again a moment later. A day that never settles keeps its
    last verified counts, with a warning: run the rebuild again in a quiet moment."""
    day = window["created_at"]["$gte"]
    directory = QueueDay._get_collection()
    for _ in range(attempts):
        held = {d["_id"]: d["count"] for d in directory.find({"day": day}, {"count": 1})}
        counted = _queue_counts(window, day)
        if not held and not counted:
            return 0
        verified = _compare_and_set_counts(day, held, counted) and _queue_counts(window, day) == {
            d["_id"]: d["count"] for d in directory.find({"day": day, "count": {"$ne": 0}}, {"count": 1})}
        if verified and not written_lately(Ticket._get_collection(), window):
            return len(counted)
        time.sleep(0.1)
    logger.warning("queue directory of %s kept changing during the rebuild; run it again in a quiet moment", day)
    return len(counted)


def _queue_counts(window: dict, day: datetime) -> dict[str, int]:
    pipeline = [{"$match": {**window, "team": {"$ne": None}, "queue_priority": {"$ne": None}}},
                {"$group": {"_id": {"team": "$team", "status": "$status", "priority": "$queue_priority"},
                            "count": {"$sum": 1}}}]
    return {_segment_id((g["_id"]["team"], g["_id"]["status"], g["_id"]["priority"], day)): g["count"]
            for g in Ticket._get_collection().aggregate(pipeline)}


def _compare_and_set_counts(day: datetime, held: dict[str, int], counted: dict[str, int]) -> bool:
    """Write each count only where the document still holds what was read; False when one
    moved (a live change) or appeared meanwhile."""
    directory = QueueDay._get_collection()
    for segment_id in held.keys() | counted.keys():
        wanted = counted.get(segment_id, 0)
        if segment_id not in held:
            team, status, priority, _ = segment_id.split("|")
            try:
                directory.insert_one({"_id": segment_id, "team": team, "status": status, "priority": int(priority),
                                      "day": day, "count": wanted})
            except DuplicateKeyError:
                return False
        elif held[segment_id] != wanted and directory.update_one(
                {"_id": segment_id, "count": held[segment_id]}, {"$set": {"count": wanted}}).matched_count == 0:
            return False
    return True


def _segment_id(segment: Segment) -> str:
    team, status, priority, day = segment
    return f"{team}|{status}|{priority}|{day:%Y-%m-%d}"


# --- every agent-visible change goes through apply_change ---------------------------------------


class TicketNotFound(LookupError):
    pass


class ActionRefused(ValueError):
    """The change is not allowed in the ticket's current state; the message says why."""


class ActionForbidden(ActionRefused):
    """The user may see the ticket but this action is not theirs to take (403, not 409)."""


class AlreadyClaimed(ActionRefused):
    def __init__(self, holder: str) -> None:
        super().__init__(f"Already held by {holder}.")
        self.holder = holder


def apply_change(*, ticket: dict, changes: dict, by: str, action: str, details: dict | None = None,
                 condition: dict | None = None, push: dict | None = None, now: datetime | None = None) -> dict | None:
    """Write `changes` to the ticket exactly as it was read (its version), with the audit
    entry, in one update; then publish the event. Returns the ticket as written, or None
    when it changed meanwhile (or `condition` no longer holds): nothing was written.

    The queue directory learns of the segment the ticket enters before the write, and of
    the one it leaves after it, so the pager never misses a ticket.
    """
    now = now or datetime.now(UTC)
    after = {**ticket, **changes}
    entering, leaving = queue_segment(after), queue_segment(ticket)
    moved = entering != leaving
    if moved and entering:
        count_in_segment(entering, +1)
    version = ticket.get("version", 0)
    written = Ticket._get_collection().update_one(*_pinned_update(
        ticket=ticket, changes=changes, by=by, action=action, details=details, condition=condition, push=push,
        now=now))
    if written.modified_count != 1:
        if moved and entering:
            count_in_segment(entering, -1)
        return None
    if moved and leaving:
        count_in_segment(leaving, -1)
    after.update(version=version + 1, updated_at=now)
    events.written(pairs=[(ticket, after)])
    events.ticket_changed(after=after, before=ticket, action=action, by=by)
    return after


@dataclass(frozen=True)
class Change:
    """One ticket's changes for apply_changes: the ticket as read, its new fields, the audit details."""

    ticket: dict
    fields: dict
    details: dict


def _pinned_update(*, ticket: dict, changes: dict, by: str, action: str, details: dict | None,
                   condition: dict | None, now: datetime, push: dict | None = None,
                   mark: dict | None = None) -> tuple[dict, dict]:
    """The filter and update that write `changes` to the ticket exactly as it was read (its
    version, and `condition`), with its audit entry."""
    entry = {"at": now, "by": by, "action": action, "details": details or {}}
    pinned = {"version": ticket["version"]} if "version" in ticket else {"version": {"$exists": False}}
    return ({"_id": ticket["_id"], **pinned, **(condition or {})},
            {"$set": {**changes, "updated_at": now, **(mark or {})}, "$inc": {"version": 1},
             "$push": {"audit": entry, **(push or {})}})


def apply_changes(*, changes: list[Change], by: str, action: str, condition: dict | None = None,
                  now: datetime | None = None) -> list[dict]:
    """apply_change for many tickets at once, as the fast tier writes them: each ticket's
    update is conditioned on its version (and `condition`) as there, but they go in one
    bulk write, the queue directory and the KPI rollups get one sum each, and the events
    are published together. Returns the tickets as written (the others changed meanwhile)."""
    if not changes:
        return []
    now = now or datetime.now(UTC)
    token = uuid.uuid4().hex  # marks this call's writes, to tell which conditions held
    moves = [(queue_segment(c.ticket), queue_segment({**c.ticket, **c.fields})) for c in changes]
    _count_in_segments(Counter(entering for leaving, entering in moves if entering != leaving))
    collection = Ticket._get_collection()
    collection.bulk_write([UpdateOne(*_pinned_update(ticket=c.ticket, changes=c.fields, by=by, action=action,
                                                     details=c.details, condition=condition, now=now,
                                                     mark={"write_token": token})) for c in changes],
                          ordered=False)
    landed = {t["_id"] for t in find_by_values(collection, "_id", [c.ticket["_id"] for c in changes],
                                               {"write_token": 1}) if t.get("write_token") == token}
    undo, pairs = Counter(), []  # the segment each written ticket left; each refused one did not enter
    for change, (leaving, entering) in zip(changes, moves, strict=True):
        if change.ticket["_id"] in landed:
            pairs.append((change.ticket, {**change.ticket, **change.fields,
                                          "version": change.ticket.get("version", 0) + 1, "updated_at": now}))
            undo[leaving] += leaving != entering
        else:
            undo[entering] += leaving != entering
    _count_in_segments(Counter({segment: -n for segment, n in undo.items()}))
    events.written(pairs=pairs)
    events.tickets_changed(pairs=pairs, action=action, by=by)
    return [after for _, after in pairs]


def _count_in_segments(deltas: Counter) -> None:
    for segment, delta in deltas.items():
        if segment is not None and delta:
            count_in_segment(segment, delta)


def _mutate(*, ticket_id: str, user, action: str, decide, attempts: int = 5) -> dict:
    """Read the ticket, check the user may act on it, let `decide(ticket)` return the
    changes (or raise ActionRefused), and write them; a concurrent change means read again."""
    for _ in range(attempts):
        ticket = Ticket._get_collection().find_one({"_id": ticket_id}, {"audit": 0, "notes": 0})
        if ticket is None or not can_work_ticket(user, ticket):
            raise TicketNotFound(ticket_id)  # the same answer whether it exists or not
        changes, details, push = decide(ticket)
        written = apply_change(ticket=ticket, changes=changes, by=user.get_username(), action=action,
                               details=details, push=push)
        if written is not None:
            return written
    raise ActionRefused("The ticket is changing too fast; try again.")


# --- agent actions ------------------------------------------------------------------------------

# Which status may follow which: resolved tickets can be reopened; merged ones are closed for good.
TRANSITIONS = {
    TicketStatus.NEW: (TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED),
    TicketStatus.IN_PROGRESS: (TicketStatus.NEW, TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED),
    TicketStatus.WAITING_CUSTOMER: (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    TicketStatus.RESOLVED: (TicketStatus.IN_PROGRESS,),
    TicketStatus.MERGED: (),
}


def _require_open(ticket: dict) -> None:
    if ticket["status"] not in TicketStatus.OPEN:
        raise ActionRefused(f"The ticket is {ticket['status'].replace('_', ' ')}.")


def claim_ticket(*, ticket_id: str, user) -> dict:
    """Take an unheld open ticket. Two agents claiming at once: one wins, the other is told
    who holds it (the versioned update makes the race a plain compare-and-set)."""

    def decide(ticket: dict):
        _require_open(ticket)
        if ticket.get("assignee"):
            raise AlreadyClaimed(ticket["assignee"])
        _require_team_member(user, ticket)
        changes = {"assignee": user.get_username(), "claimed_at": datetime.now(UTC)}
        if ticket["status"] == TicketStatus.NEW:
            changes["status"] = TicketStatus.IN_PROGRESS
        return changes, {"assignee": [None, user.get_username()]}, None

    return _mutate(ticket_id=ticket_id, user=user, action="claimed", decide=decide)


def release_ticket(*, ticket_id: str, user) -> dict:
    def decide(ticket: dict):
        if not ticket.get("assignee"):
            raise ActionRefused("Nobody holds this ticket.")
        if not can_release_ticket(user, ticket):
            raise ActionForbidden(f"Only {ticket['assignee']} or a manager can release this ticket.")
        changes = {"assignee": None}
        if ticket["status"] == TicketStatus.IN_PROGRESS:
            changes["status"] = TicketStatus.NEW
        return changes, {"assignee": [ticket["assignee"], None]}, None

    return _mutate(ticket_id=ticket_id, user=user, action="released", decide=decide)


def assign_ticket(*, ticket_id: str, user, assignee: str) -> dict:
    """Hand the ticket to a colleague: an agent of the ticket's team."""
    def decide(ticket: dict):
        if not can_assign_ticket(user, ticket):
            raise ActionForbidden("Only a manager can hand a ticket to someone; claim it to take it yourself.")
        _require_open(ticket)
        colleague = get_user_model().objects.filter(username=assignee, is_active=True).first()
        if colleague is None or not can_hold_tickets_of(colleague, ticket["team"]):
            raise ActionRefused(f"{assignee} is not an agent of the {ticket['team']} team.")
        changes = {"assignee": assignee, "claimed_at": datetime.now(UTC)}
        if ticket["status"] == TicketStatus.NEW:
            changes["status"] = TicketStatus.IN_PROGRESS
        return changes, {"assignee": [ticket.get("assignee"), assignee]}, None

    return _mutate(ticket_id=ticket_id, user=user, action="assigned", decide=decide)


def change_status(*, ticket_id: str, user, status: str) -> dict:
    """Move along new → in progress → waiting on customer → resolved (or reopen). Waiting
    on the customer or resolving means we responded: the SLA clock stops."""
    def decide(ticket: dict):
        if status not in TRANSITIONS.get(ticket["status"], ()):
            raise ActionRefused(f"A {_label(ticket['status'])} ticket cannot become {_label(status)}.")
        now = datetime.now(UTC)
        changes: dict = {"status": status}
        if status in (TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED):
            changes |= sla.fields_on_response(ticket, now)
        if status == TicketStatus.RESOLVED:
            changes["resolved_at"] = now
        elif ticket["status"] == TicketStatus.RESOLVED:
            changes["resolved_at"] = None
        starts_work = status == TicketStatus.IN_PROGRESS and not ticket.get("assignee")
        if starts_work and can_hold_tickets_of(user, ticket["team"]):  # starting work on it is claiming it
            changes |= {"assignee": user.get_username(), "claimed_at": now}
        if status == TicketStatus.NEW:
            changes["assignee"] = None
        return changes, {"status": [ticket["status"], status]}, None

    return _mutate(ticket_id=ticket_id, user=user, action="status_changed", decide=decide)


def correct_labels(*, ticket_id: str, user, sentiment: str, topic: str, urgency: str, actionable: bool) -> dict:
    """Store an agent's labels beside the model's answer (kept as it was), with who and when;
    the queue shows and filters on the corrected labels, and a new urgency re-aims the SLA."""
    for field, value in (("sentiment", sentiment), ("topic", topic), ("urgency", urgency)):
        if value not in VOCABULARY[field]:
            raise ActionRefused(f"{value!r} is not a {field} of the vocabulary.")

    def decide(ticket: dict):
        if not ticket.get("analysis"):
            raise ActionRefused("The ticket has not been analysed yet.")
        now = datetime.now(UTC)
        correction = {"sentiment": sentiment, "topic": topic, "urgency": urgency, "actionable": bool(actionable),
                      "by": user.get_username(), "at": now}
        changes = {"correction": correction, "sentiment": sentiment, "topic": topic}
        if urgency != ticket.get("urgency"):
            changes |= {"urgency": urgency, **sla.fields_for_urgency(ticket, urgency, now)}
        model = ticket["analysis"]
        details = {field: [model.get(field), correction[field]] for field in ("sentiment", "topic", "urgency",
                                                                               "actionable")}
        return changes, details, None

    corrected = _mutate(ticket_id=ticket_id, user=user, action="labels_corrected", decide=decide)
    events.labels_corrected.send(sender=Ticket, ticket=corrected)
    return corrected


REPLY_MAX_CHARS = 280


def record_reply(*, ticket_id: str, user, text: str) -> dict:
    """Record the reply an agent sent the customer (Dallosh sends nothing itself): a brand
    tweet in the conversation, and the ticket now waits on the customer, which stops the
    SLA clock. A draft from analysis/replies.py is only ever a starting point for this.

    The ticket's version-checked write comes first and the brand tweet after it: a refused
    or failed write leaves no tweet behind to change SLA and KPIs later. Should the process
    die in between, the ticket's audit entry holds the reply and the tweet's id."""
    text = text.strip()
    if not text:
        raise ActionRefused("The reply is empty.")
    if len(text) > REPLY_MAX_CHARS:
        raise ActionRefused(f"The reply has {len(text)} characters; a tweet holds {REPLY_MAX_CHARS}.")
    tweet_id = f"dallosh:{uuid.uuid4().hex}"
    decided: dict = {}

    def decide(ticket: dict):
        _require_open(ticket)
        now = datetime.now(UTC)
        decided["tweet"] = {
            "_id": tweet_id, "source": "dallosh", "tweet_id": tweet_id.split(":", 1)[1],
            "author": settings.DALLOSH.get("BRAND_HANDLE", "brand"), "is_brand": True, "created_at": now,
            "text": text, "clean_text": text, "language": ticket.get("language"),
            "reply_to": (ticket.get("tweet_ids") or [None])[-1], "conversation_id": ticket["_id"],
            "response_ids": [], "recorded_by": user.get_username()}
        changes = {"brand_reply_count": ticket.get("brand_reply_count", 0) + 1, "last_activity_at": now,
                   "first_brand_reply_at": ticket.get("first_brand_reply_at") or now}
        if TicketStatus.WAITING_CUSTOMER in TRANSITIONS.get(ticket["status"], ()):
            changes |= {"status": TicketStatus.WAITING_CUSTOMER, **sla.fields_on_response(ticket, now)}
        return changes, {"reply": text, "tweet": tweet_id}, {"tweet_ids": tweet_id}

    written = _mutate(ticket_id=ticket_id, user=user, action="replied", decide=decide)
    if not insert_new(Tweet._get_collection(), [decided["tweet"]]):  # the skipped ids
        ingestion_events.stored(sender=Tweet, tweets=[decided["tweet"]])
    return written


def reroute_ticket(*, ticket_id: str, user, team: str, reason: str = "") -> dict:
    """Send the ticket to another team's queue, unheld, for that team to pick up."""
    if team not in TEAMS:
        raise ActionRefused(f"{team!r} is not a team.")

    def decide(ticket: dict):
        _require_open(ticket)
        if ticket.get("team") == team:
            raise ActionRefused(f"The ticket is already in the {team} queue.")
        changes = {"team": team, "assignee": None, "status": TicketStatus.NEW, "routed_at": datetime.now(UTC),
                   "routing_rule": f"re-routed by {user.get_username()}"}
        return changes, {"team": [ticket.get("team"), team], "reason": reason[:500]}, None

    return _mutate(ticket_id=ticket_id, user=user, action="rerouted", decide=decide)


NOTE_MAX_CHARS = 5000


def add_note(*, ticket_id: str, user, text: str) -> dict:
    text = text.strip()
    if not text:
        raise ActionRefused("A note cannot be empty.")
    if len(text) > NOTE_MAX_CHARS:
        raise ActionRefused(f"A note holds at most {NOTE_MAX_CHARS} characters.")

    def decide(ticket: dict):
        note = {"by": user.get_username(), "at": datetime.now(UTC), "text": text}
        return {}, {"chars": len(text)}, {"notes": note}

    return _mutate(ticket_id=ticket_id, user=user, action="note_added", decide=decide)


def _require_team_member(user, ticket: dict) -> None:
    if not can_hold_tickets_of(user, ticket["team"]):
        raise ActionForbidden(f"Only agents of the {ticket['team']} team can hold this ticket.")


def _label(status: str) -> str:
    return status.replace("_", " ")


# --- SLA watch -----------------------------------------------------------------------------------


def flag_breaches(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Mark tickets whose response target has passed: they float to the top of their queue,
    live. Run every minute by a django-q2 schedule; a ticket changed meanwhile waits a minute."""
    now = now or datetime.now(UTC)
    overdue = Ticket._get_collection().find({"sla_state": SlaState.RUNNING, "sla_due_at": {"$lt": now}},
                                            {"audit": 0, "notes": 0}).limit(limit)
    flagged = 0
    for ticket in list(overdue):
        if ticket.get("responded_at") or not ticket.get("urgency"):
            continue
        written = apply_change(ticket=ticket, changes=sla.fields_on_breach(ticket), by="system:sla",
                               action="sla_breached", details={"due": ticket["sla_due_at"].isoformat()}, now=now)
        flagged += written is not None
    return flagged


def backfill_queue_fields(*, now: datetime | None = None) -> int:
    """Give tickets routed before queues existed their queue fields (labels shown, SLA,
    priority), through apply_change so the directory and the audit trail follow."""
    now = now or datetime.now(UTC)
    done = 0
    missing = {"team": {"$ne": None}, "queue_priority": None, "analysis": {"$exists": True}}
    for ticket in list(Ticket._get_collection().find(missing, {"notes": 0})):
        labels = labels_in_force(ticket["analysis"], ticket.get("correction"))
        changes = {"topic": labels["topic"], "sentiment": labels["sentiment"],
                   **sla.fields_for_urgency(ticket, ticket["urgency"], now)}
        done += apply_change(ticket=ticket, changes=changes, by="system:upgrade", action="queued", now=now) is not None
    return done
