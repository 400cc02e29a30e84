"""Ticket reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model

from dallosh.permissions import AGENT_GROUP, can_view_ticket, team_group
from dallosh.vocabulary import TEAMS
from ingestion import outbox
from ingestion.store import READING, tweets_by_ids
from tickets import directory, routing, sla, store
from tickets.errors import TicketNotFound
from tickets.models import RoutingRule, TicketStatus
from tickets.store import Projection, TicketRow


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
    tweets = tweets_by_ids(ticket.get("tweet_ids", []), projection=READING)
    if any((tweet.get("mail") or {}).get("outgoing") for tweet in tweets):  # where each e-mail reply stands
        sending = outbox.replies_of(ticket["_id"])
        for tweet in tweets:
            if tweet["_id"] in sending:
                tweet["sending"] = sending[tweet["_id"]]
    return sorted(tweets, key=lambda t: (t["created_at"], t["_id"]))


def replies_by_mail(*, ticket: TicketRow) -> bool:
    """Whether recording a reply on this ticket sends it: an e-mail ticket, with a mail server set."""
    return outbox.sends_replies(channel=ticket.get("channel"))


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
    return sum(max(day["count"], 0) for day in directory.segment_days(team=team, statuses=TicketStatus.OPEN)
               if day["unsure"])


def awaiting_analysis(*, cap: int = AWAITING_CAP) -> int:
    """Tickets not labelled yet (on the needs_analysis index; a merged one never is), counted
    up to `cap`: what an empty queue tells the agent is on its way."""
    return store.count({"needs_analysis": True}, cap=cap)


def backlog() -> dict[str, dict[str, int]]:
    """Tickets per team and open status, from the queue directory (never a scan of tickets)."""
    return directory.open_totals()


def breached_open(*, team: str | None = None) -> int:
    """Open tickets past their response target (the breach priorities), from the directory."""
    breach_priorities = [p for p in sla.PRIORITIES if p > sla.BREACH_BONUS]
    return sum(max(day["count"], 0) for teamname in ([team] if team else TEAMS) for priority in breach_priorities
               for day in directory.segment_days(team=teamname, statuses=TicketStatus.OPEN, priority=priority))


def corrected_tickets(*, since: datetime, until: datetime | None = None) -> list[TicketRow]:
    """Tickets an agent corrected in the range (an indexed range on the correction's time:
    corrections are a person's work, thousands, never millions). Only corrections in force:
    a withdrawn one is no longer the ticket's `correction` (it sits in its history), so the
    few-shot examples and the agreement figures never read it."""
    query: dict = {"$gte": since}
    if until is not None:
        query["$lt"] = until
    return store.select({"correction.at": query}, projection=Projection.CORRECTION)
