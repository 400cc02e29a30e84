"""Agent actions: every agent-visible change to a ticket goes through apply_change (one
version-pinned update with its audit entry, then its announcements), and the actions
people take (claim, release, assign, status, labels and their withdrawal, reply, re-route,
note) with their transitions. Routing and re-routing live in tickets/routing.py, the SLA
watch in tickets/sla_watch.py, tickets derived from conversations in
tickets/conversations.py, the queue directory in tickets/directory.py; the tickets
collection itself in tickets/store.py."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext

from dallosh import rates
from dallosh.announce import announce
from dallosh.permissions import (
    can_assign_ticket,
    can_hold_tickets_of,
    can_release_ticket,
    can_withdraw_correction,
    can_work_ticket,
)
from dallosh.vocabulary import EMAIL, TEAMS, TWITTER, VOCABULARY, unsure_in_force
from ingestion import outbox
from ingestion import services as ingestion_services
from tickets import events, sla, store
from tickets.audit import AuditAction
from tickets.directory import count_in_segment, count_in_segments, queue_segment
from tickets.errors import ActionForbidden, ActionRefused, ActionThrottled, AlreadyClaimed, TicketNotFound
from tickets.models import Ticket, TicketStatus
from tickets.store import PinnedWrite as Change
from tickets.store import TicketRow

logger = logging.getLogger(__name__)


def apply_change(*, ticket: TicketRow, changes: dict, by: str, action: str, details: dict | None = None,
                 condition: dict | None = None, push: dict | None = None,
                 now: datetime | None = None, audit: bool = True) -> TicketRow | None:
    """Write `changes` to the ticket exactly as it was read (its version), with the audit
    entry (none with `audit` False), in one update; then publish the event. Returns the ticket as written, or None
    when it changed meanwhile (or `condition` no longer holds): nothing was written.

    The queue directory learns of the segment the ticket enters before the write, and of
    the one it leaves after it, so the pager never misses a ticket.
    """
    now = now or datetime.now(UTC)
    after = {**ticket, **store.recorded(changes, by=by)}
    entering, leaving = queue_segment(after), queue_segment(ticket)
    moved = entering != leaving
    if moved and entering:
        count_in_segment(entering, +1)
    version = ticket.get("version", 0)
    if not store.write_pinned(ticket=ticket, changes=changes, by=by, action=action, details=details,
                              condition=condition, push=push, now=now, audit=audit):
        if moved and entering:
            count_in_segment(entering, -1)
        return None
    if moved and leaving:
        count_in_segment(leaving, -1)
    after.update(version=version + 1, updated_at=now)
    events.written(pairs=[(ticket, after)])
    events.ticket_changed(after=after, before=ticket, action=action, by=by)
    return after


def apply_changes(*, changes: list[Change], by: str, action: str, condition: dict | None = None,
                  now: datetime | None = None) -> list[TicketRow]:
    """apply_change for many tickets at once, as the fast tier writes them: each ticket's
    update is conditioned on its version (and `condition`) as there, but they go in one
    bulk write, the queue directory and the KPI rollups get one sum each, and the events
    are published together. Returns the tickets as written (the others changed meanwhile)."""
    if not changes:
        return []
    now = now or datetime.now(UTC)
    moves = [(queue_segment(c.ticket), queue_segment({**c.ticket, **c.fields})) for c in changes]
    count_in_segments(Counter(entering for leaving, entering in moves if entering != leaving))
    landed = store.write_pinned_many(changes, by=by, action=action, condition=condition, now=now)
    undo, pairs = Counter(), []  # the segment each written ticket left; each refused one did not enter
    for change, (leaving, entering) in zip(changes, moves, strict=True):
        if change.ticket["_id"] in landed:
            pairs.append((change.ticket, {**change.ticket, **store.recorded(change.fields, by=by),
                                          "version": change.ticket.get("version", 0) + 1, "updated_at": now}))
            undo[leaving] += leaving != entering
        else:
            undo[entering] += leaving != entering
    count_in_segments(Counter({segment: -n for segment, n in undo.items()}))
    events.written(pairs=pairs)
    events.tickets_changed(pairs=pairs, action=action, by=by)
    return [after for _, after in pairs]


def _mutate(*, ticket_id: str, user, action: str, decide, attempts: int = 5) -> TicketRow:
    """Read the ticket, check the user may act on it, let `decide(ticket)` return the
    changes (or raise ActionRefused), and write them; a concurrent change means read again."""
    for _ in range(attempts):
        ticket = store.get(ticket_id, projection=store.Projection.WORKING)
        if ticket is None or not can_work_ticket(user, ticket):
            raise TicketNotFound(ticket_id)  # the same answer whether it exists or not
        changes, details, push = decide(ticket)
        try:
            written = apply_change(ticket=ticket, changes=changes, by=user.get_username(), action=action,
                                   details=details, push=push)
        except store.TicketUnwritable as unwritable:
            logger.error("%s by %s: %s", action, user.get_username(), unwritable)
            raise ActionRefused(gettext("This ticket has grown too large to be changed; ask an administrator "
                                        "to archive part of its history.")) from unwritable
        if written is not None:
            return written
    raise ActionRefused(gettext("The ticket is changing too fast; try again."))


# --- agent actions ------------------------------------------------------------------------------

# Which status may follow which: resolved tickets can be reopened; merged ones are closed for good.
TRANSITIONS = {
    TicketStatus.NEW: (TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED),
    TicketStatus.IN_PROGRESS: (TicketStatus.NEW, TicketStatus.WAITING_CUSTOMER, TicketStatus.RESOLVED),
    TicketStatus.WAITING_CUSTOMER: (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    TicketStatus.RESOLVED: (TicketStatus.IN_PROGRESS,),
    TicketStatus.MERGED: (),
}


def _require_open(ticket: TicketRow) -> None:
    if ticket["status"] not in TicketStatus.OPEN:
        raise ActionRefused(gettext("This ticket is %(status)s; only an open ticket can be worked on.")
                            % {"status": TicketStatus.label(ticket["status"])})


def claim_ticket(*, ticket_id: str, user) -> TicketRow:
    """Take an unheld open ticket. Two agents claiming at once: one wins, the other is told
    who holds it (the versioned update makes the race a plain compare-and-set)."""

    def decide(ticket: TicketRow):
        _require_open(ticket)
        if ticket.get("assignee"):
            raise AlreadyClaimed(ticket["assignee"])
        _require_team_member(user, ticket)
        changes = {"assignee": user.get_username(), "claimed_at": datetime.now(UTC)}
        if ticket["status"] == TicketStatus.NEW:
            changes["status"] = TicketStatus.IN_PROGRESS
        return changes, {"assignee": [None, user.get_username()]}, None

    return _mutate(ticket_id=ticket_id, user=user, action=AuditAction.CLAIMED, decide=decide)


def release_ticket(*, ticket_id: str, user) -> TicketRow:
    def decide(ticket: TicketRow):
        if not ticket.get("assignee"):
            raise ActionRefused(gettext("Nobody holds this ticket."))
        _require_release(ticket, user)
        changes = {"assignee": None}
        if ticket["status"] == TicketStatus.IN_PROGRESS:
            changes["status"] = TicketStatus.NEW
        return changes, {"assignee": [ticket["assignee"], None]}, None

    return _mutate(ticket_id=ticket_id, user=user, action=AuditAction.RELEASED, decide=decide)


def _require_release(ticket: TicketRow, user) -> None:
    """Every action that takes a held ticket out of its holder's hands (releasing it, moving
    it back to new, re-routing it) is the holder's or a manager's."""
    if ticket.get("assignee") and not can_release_ticket(user, ticket):
        raise ActionForbidden(gettext("Only %(holder)s or a manager can release this ticket.")
                              % {"holder": ticket["assignee"]})


def assign_ticket(*, ticket_id: str, user, assignee: str) -> TicketRow:
    """Hand the ticket to a colleague: an agent of the ticket's team."""
    def decide(ticket: TicketRow):
        if not can_assign_ticket(user, ticket):
            raise ActionForbidden(gettext("Only a manager can hand a ticket to someone; claim it to take it yourself."))
        _require_open(ticket)
        colleague = get_user_model().objects.filter(username=assignee, is_active=True).first()
        if colleague is None or not can_hold_tickets_of(colleague, ticket["team"]):
            raise ActionRefused(gettext("%(assignee)s is not an agent of the %(team)s team.")
                                % {"assignee": assignee, "team": ticket["team"]})
        changes = {"assignee": assignee, "claimed_at": datetime.now(UTC)}
        if ticket["status"] == TicketStatus.NEW:
            changes["status"] = TicketStatus.IN_PROGRESS
        return changes, {"assignee": [ticket.get("assignee"), assignee]}, None

    return _mutate(ticket_id=ticket_id, user=user, action=AuditAction.ASSIGNED, decide=decide)


def change_status(*, ticket_id: str, user, status: str) -> TicketRow:
    """Move along new → in progress → waiting on customer → resolved (or reopen). Waiting
    on the customer or resolving means we responded: the SLA clock stops."""
    def decide(ticket: TicketRow):
        if status not in TRANSITIONS.get(ticket["status"], ()):
            raise ActionRefused(_status_refusal(ticket["status"], status))
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
            _require_release(ticket, user)
            changes["assignee"] = None
        return changes, {"status": [ticket["status"], status]}, None

    return _mutate(ticket_id=ticket_id, user=user, action=AuditAction.STATUS_CHANGED, decide=decide)


def correct_labels(*, ticket_id: str, user, sentiment: str, topic: str, urgency: str, actionable: bool) -> TicketRow:
    """Store an agent's labels beside the model's answer (kept as it was), with who and when;
    the queue shows and filters on the corrected labels, and a new urgency re-aims the SLA."""
    for field, value in (("sentiment", sentiment), ("topic", topic), ("urgency", urgency)):
        if value not in VOCABULARY[field]:
            raise ActionRefused(gettext("'%(value)s' is not a %(field)s Dallosh knows; choose one of: %(known)s.")
                                % {"value": value, "field": field, "known": ", ".join(VOCABULARY[field])})

    def decide(ticket: TicketRow):
        if not ticket.get("analysis"):
            raise ActionRefused(gettext("The ticket has not been analysed yet."))
        now = datetime.now(UTC)
        correction = {"sentiment": sentiment, "topic": topic, "urgency": urgency, "actionable": bool(actionable),
                      "by": user.get_username(), "at": now, "routed_urgency": routed_urgency(ticket)}
        changes = {"correction": correction, "sentiment": sentiment, "topic": topic,
                   "unsure": False}  # a person decided: out of the "unsure" view, in the same write
        if urgency != ticket.get("urgency"):
            changes |= {"urgency": urgency, **sla.fields_for_urgency(ticket, urgency, now)}
        model = ticket["analysis"]
        details = {field: [model.get(field), correction[field]] for field in ("sentiment", "topic", "urgency",
                                                                               "actionable")}
        return changes, details, None

    corrected = _mutate(ticket_id=ticket_id, user=user, action=AuditAction.LABELS_CORRECTED, decide=decide)
    announce(events.labels_corrected, about=f"ticket {ticket_id}", sender=Ticket, ticket=corrected)
    return corrected


def routed_urgency(ticket: TicketRow) -> str | None:
    """The urgency routing gave the ticket, which a correction overrides: without a
    correction, the ticket's own; under one, what the correction recorded (routing keeps it
    up to date, tickets/routing.py); under a correction recorded before that was kept, the
    model's urgency, routing's usual answer."""
    correction = ticket.get("correction")
    if not correction:
        return ticket.get("urgency")
    return correction.get("routed_urgency") or (ticket.get("analysis") or {}).get("urgency")


def withdraw_correction(*, ticket_id: str, user) -> TicketRow:
    """Take back the label correction in force, as its author (a mistake of their own) or a
    manager (a supervisor's review) may: the exact inverse of correct_labels. The model's
    topic and sentiment show in the queue again (and in its "unsure" view, if the machine's
    doubt is still unsettled), and the urgency routing gave comes back with its SLA target;
    the team stays, as correcting never moved it.

    The correction is kept in the ticket's history (`withdrawn_corrections`: the labels,
    who and when, who withdrew it and when) and in the audit entry, but it is no longer
    the ticket's correction, so nothing learns from it any more: the prompts' examples,
    the fast tier's training and the agreement figures read only the correction in force
    (the ticket still teaches what an LLM tier said of it, as any other ticket)."""
    decided: dict = {}

    def decide(ticket: TicketRow):
        correction = ticket.get("correction")
        if not correction:
            raise ActionRefused(gettext("This ticket's labels are the model's: there is no correction to withdraw."))
        if not can_withdraw_correction(user, ticket):
            raise ActionForbidden(gettext("Only %(author)s, who made the correction, or a manager can withdraw it.")
                                  % {"author": correction.get("by")})
        now = datetime.now(UTC)
        model = ticket.get("analysis") or {}
        urgency = routed_urgency(ticket) or ticket.get("urgency")
        changes = {"correction": None, "sentiment": model.get("sentiment"), "topic": model.get("topic"),
                   # the machine's doubts stand again too, unless the LLM settled them meanwhile
                   "unsure": unsure_in_force(model, None, refining=bool(ticket.get("needs_refinement")))}
        if urgency != ticket.get("urgency"):
            changes |= {"urgency": urgency, **sla.fields_for_urgency(ticket, urgency, now)}
        decided["withdrawn"] = {**correction, "withdrawn_by": user.get_username(), "withdrawn_at": now}
        details = {field: [correction.get(field), model.get(field)] for field in ("sentiment", "topic", "actionable")}
        details |= {"urgency": [correction.get("urgency"), urgency], "corrected_by": correction.get("by"),
                    "corrected_at": correction.get("at")}
        return changes, details, {"withdrawn_corrections": decided["withdrawn"]}

    written = _mutate(ticket_id=ticket_id, user=user, action=AuditAction.CORRECTION_WITHDRAWN, decide=decide)
    announce(events.correction_withdrawn, about=f"ticket {ticket_id}", sender=Ticket, ticket=written,
             withdrawn=decided["withdrawn"])
    return written


REPLY_MAX_CHARS = 280
MAIL_REPLY_MAX_CHARS = 10_000


def record_reply(*, ticket_id: str, user, text: str) -> TicketRow:
    """Record the reply an agent sent the customer: a brand message in the conversation, and
    the ticket now waits on the customer, which stops the SLA clock. Dallosh sends tweets
    nowhere; an e-mail ticket's reply is sent by mail when an SMTP server is configured
    (ingestion/outbox.py). A draft from analysis/replies.py is only ever a starting point.

    The ticket's version-checked write comes first and the brand tweet after it: a refused
    or failed write leaves no tweet behind to change SLA and KPIs later. Should the process
    die in between, the ticket's audit entry holds the reply and the tweet's id."""
    text = text.strip()
    if not text:
        raise ActionRefused(gettext("The reply is empty."))
    tweet_id = f"dallosh:{uuid.uuid4().hex}"
    decided: dict = {}

    def decide(ticket: TicketRow):
        _require_open(ticket)
        by_mail, limit = ticket.get("channel") == EMAIL, reply_max_chars(channel=ticket.get("channel"))
        if len(text) > limit:
            message = (gettext("The reply has %(length)d characters; an e-mail reply holds %(limit)d.") if by_mail
                       else gettext("The reply has %(length)d characters; a tweet holds %(limit)d."))
            raise ActionRefused(message % {"length": len(text), "limit": limit})
        now = datetime.now(UTC)
        decided["by_mail"] = outbox.sends_replies(channel=ticket.get("channel"))
        decided["tweet"] = {
            "_id": tweet_id, "source": "dallosh", "tweet_id": tweet_id.split(":", 1)[1],
            "author": settings.DALLOSH_INGEST.brand_addresses[0] if by_mail else settings.DALLOSH_SITE.brand_handle,
            "channel": ticket.get("channel") or TWITTER, "is_brand": True, "created_at": now,
            "text": text, "clean_text": text, "display_text": text, "language": ticket.get("language"),
            "reply_to": (ticket.get("tweet_ids") or [None])[-1], "conversation_id": ticket["_id"],
            "response_ids": [], "recorded_by": user.get_username()}
        changes = {"brand_reply_count": ticket.get("brand_reply_count", 0) + 1, "last_activity_at": now,
                   "first_brand_reply_at": ticket.get("first_brand_reply_at") or now}
        if TicketStatus.WAITING_CUSTOMER in TRANSITIONS.get(ticket["status"], ()):
            changes |= {"status": TicketStatus.WAITING_CUSTOMER, **sla.fields_on_response(ticket, now)}
        return changes, {"reply": text, "tweet": tweet_id}, {"tweet_ids": tweet_id}

    written = _mutate(ticket_id=ticket_id, user=user, action=AuditAction.REPLIED, decide=decide)
    tweet = decided["tweet"]
    if decided["by_mail"]:  # queued (stored) before the reply shows, sent by the housekeeping cluster
        tweet["mail"] = outbox.queue_reply(reply_id=tweet_id, conversation_id=ticket_id, text=text,
                                           language=tweet["language"])
    ingestion_services.store_recorded_tweet(tweet=tweet)
    if decided["by_mail"]:
        outbox.send_soon()
    return written


def reply_max_chars(*, channel: str | None) -> int:
    """What one reply may hold: a tweet's 280 characters, or an e-mail's few pages."""
    return MAIL_REPLY_MAX_CHARS if channel == EMAIL else REPLY_MAX_CHARS


def reroute_ticket(*, ticket_id: str, user, team: str, reason: str = "") -> TicketRow:
    """Send the ticket to another team's queue, unheld, for that team to pick up. A person's
    routing: no later machine decision moves it (routing.machine_may_route)."""
    if team not in TEAMS:
        raise ActionRefused(gettext("'%(team)s' is not a team; the teams are: %(teams)s.")
                            % {"team": team, "teams": ", ".join(TEAMS)})

    def decide(ticket: TicketRow):
        _require_open(ticket)
        if ticket.get("team") == team:
            raise ActionRefused(gettext("The ticket is already in the %(team)s queue.") % {"team": team})
        _require_release(ticket, user)
        changes = {"team": team, "assignee": None, "status": TicketStatus.NEW, "routed_at": datetime.now(UTC),
                   "routing_rule": f"re-routed by {user.get_username()}", "routed_by": user.get_username()}
        return changes, {"team": [ticket.get("team"), team], "reason": reason[:500]}, None

    return _mutate(ticket_id=ticket_id, user=user, action=AuditAction.REROUTED, decide=decide)


NOTE_MAX_CHARS = 5000
NOTES_PER_TICKET = 200  # 200 × 5,000 characters: 1 MB of the 16 MB a ticket document may hold
NOTES_PER_MINUTE = 10  # per person, across tickets: a script gone wrong, not a person typing


def add_note(*, ticket_id: str, user, text: str) -> TicketRow:
    """An internal note, within bounds (NOTE_MAX_CHARS each, NOTES_PER_TICKET per ticket,
    NOTES_PER_MINUTE per person) so no ticket grows past what MongoDB can store."""
    text = text.strip()
    if not text:
        raise ActionRefused(gettext("A note cannot be empty."))
    if len(text) > NOTE_MAX_CHARS:
        raise ActionRefused(gettext("A note holds at most %(limit)d characters.") % {"limit": NOTE_MAX_CHARS})
    if rates.count(what="notes", who=user.get_username(), window=rates.MINUTE) > NOTES_PER_MINUTE:
        raise ActionThrottled(gettext("You added %(limit)d notes within a minute; wait a moment, then try again.")
                              % {"limit": NOTES_PER_MINUTE})

    def decide(ticket: TicketRow):
        if ticket["status"] == TicketStatus.MERGED:
            raise ActionRefused(gettext("This ticket was merged into %(into)s; add the note there.")
                                % {"into": ticket.get("merged_into")})
        if (ticket.get("note_count") or 0) >= NOTES_PER_TICKET:
            raise ActionRefused(gettext("This ticket already holds %(limit)d notes, the most one ticket may hold.")
                                % {"limit": NOTES_PER_TICKET})
        note = {"by": user.get_username(), "at": datetime.now(UTC), "text": text}
        return {"note_count": (ticket.get("note_count") or 0) + 1}, {"chars": len(text)}, {"notes": note}

    return _mutate(ticket_id=ticket_id, user=user, action=AuditAction.NOTE_ADDED, decide=decide)


def _require_team_member(user, ticket: dict) -> None:
    if not can_hold_tickets_of(user, ticket["team"]):
        raise ActionForbidden(gettext("Only agents of the %(team)s team can hold this ticket.")
                              % {"team": ticket["team"]})


def _status_refusal(current: str, wanted: str) -> str:
    """Why the ticket cannot take this status, as a sentence that says what it can become."""
    if wanted not in TicketStatus.CHOICES:
        return gettext("'%(status)s' is not a status.") % {"status": wanted}
    if wanted == current:
        return gettext("This ticket is already %(status)s.") % {"status": TicketStatus.label(current)}
    allowed = TRANSITIONS.get(current, ())
    if not allowed:
        return gettext("This ticket is %(status)s; its status cannot change.") % {"status": TicketStatus.label(current)}
    return gettext("This ticket is %(status)s; it can become: %(allowed)s.") % {
        "status": TicketStatus.label(current), "allowed": ", ".join(TicketStatus.label(status) for status in allowed)}
