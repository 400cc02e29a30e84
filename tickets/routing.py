"""Routing, in one place: the decision (LABELS.md's default routing, overridden by the
admins' rules), what a route writes on a ticket (team, urgency in force, SLA target: the
step the analysis and the re-routing share), and re-routing open tickets after the rules
change."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from dallosh.vocabulary import FALLBACK_TEAM, FIELDS, LABEL_FIELDS, TOPIC_TEAM, Analysis, labels_in_force
from tickets import sla, store
from tickets.audit import AuditAction
from tickets.models import RoutingRule, TicketStatus
from tickets.services import apply_change
from tickets.store import TicketRow


@dataclass(frozen=True)
class Route:
    team: str
    urgency: str
    rule: str | None  # the rule that decided, None for the default routing


def default_team(analysis: Analysis) -> str:
    """network/technical → tech, billing → billing, commercial → commercial; customer_service
    and other → the team the content points to (the model's `team`), else commercial."""
    return TOPIC_TEAM.get(analysis.topic) or analysis.team or FALLBACK_TEAM


def decide_route(*, analysis: Analysis, text: str, language: str | None, author: str | None = None,
                 rules: list[RoutingRule] | None = None) -> Route:
    """Where a ticket goes and how urgent it is: the first active matching rule, else the default."""
    rules = rules if rules is not None else active_rules()
    for rule in rules:
        if rule_matches(rule, analysis=analysis, text=text, language=language, author=author):
            return Route(team=rule.route_to_team or default_team(analysis),
                         urgency=rule.set_urgency or analysis.urgency, rule=rule.name)
    return Route(team=default_team(analysis), urgency=analysis.urgency, rule=None)


def stored_analysis(ticket: TicketRow) -> Analysis:
    """The labels routing reads on a ticket, as an Analysis: the model's, under the agent's
    correction where one stands (a corrected topic routes as corrected)."""
    return in_force(Analysis(**{name: ticket["analysis"][name] for name in FIELDS}), ticket.get("correction"))


def in_force(analysis: Analysis, correction: dict | None) -> Analysis:
    """The model's answer under an agent's correction: what routing decides on."""
    if not correction:
        return analysis
    labels = labels_in_force(analysis.to_dict(), correction)
    return dataclasses.replace(analysis, **{name: labels[name] for name in LABEL_FIELDS})


def machine_may_route(ticket: TicketRow) -> bool:
    """Whether a machine decision (an analysis, a refinement, a re-route after a rule change)
    may set the ticket's team: never routed yet, or new, unheld and routed by the machine.
    A person's routing (a re-route) stands until a person changes it; the machine may only
    suggest (analysis.suggestion)."""
    if ticket.get("team") is None:
        return True
    return ticket.get("status") == TicketStatus.NEW and not ticket.get("assignee") and not ticket.get("routed_by")


# Written with a machine's routing: the ticket still is as machine_may_route read it.
MACHINE_ROUTABLE = {"status": TicketStatus.NEW, "assignee": None, "routed_by": None}


def routing_text(ticket: TicketRow) -> str:
    """The text routing keywords are matched in: what the model read, else the subject."""
    return ticket["analysis"].get("input_text") or ticket.get("subject") or ""


def active_rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(active=True).order_by("priority", "id"))


def rule_matches(rule: RoutingRule, *, analysis: Analysis, text: str, language: str | None,
                 author: str | None) -> bool:
    """Every condition the rule sets holds (empty conditions match anything)."""
    keywords = rule_keywords(rule.keywords)
    return ((not rule.topic or rule.topic == analysis.topic)
            and (not rule.sentiment or rule.sentiment == analysis.sentiment)
            and (not rule.urgency or rule.urgency == analysis.urgency)
            and (not rule.language or rule.language == (language or ""))
            and (not rule.author or rule.author.lstrip("@").casefold() == (author or "").lstrip("@").casefold())
            and (not keywords or any(k in text.casefold() for k in keywords)))


def rule_keywords(keywords: str) -> list[str]:
    """A rule's keywords or phrases, case-folded: one per line in the admin's textarea, and
    commas still separate them (rules written before the textarea use commas)."""
    return [k.strip().casefold() for k in re.split(r"[,\n]", keywords) if k.strip()]


def routed_fields(*, ticket: TicketRow, route: Route, now: datetime) -> dict:
    """What routing writes on a ticket: the route's team and rule, the urgency in force (an
    agent's corrected urgency outlives any re-routing), and the SLA target it sets. The one
    step the analysis and the re-routing after a rule change share.

    Under a correction, the route's own urgency is recorded on it: withdrawing the
    correction (tickets.services.withdraw_correction) gives the ticket the urgency routing
    gave it last, as if it had never been corrected."""
    corrected = bool(ticket.get("correction"))
    urgency = labels_in_force(ticket.get("analysis"), ticket.get("correction"))["urgency"] \
        if corrected else route.urgency
    fields = {"team": route.team, "urgency": urgency, "routing_rule": route.rule, "routed_at": now,
              **sla.fields_for_urgency(ticket, urgency, now)}
    if corrected:
        fields["correction.routed_urgency"] = route.urgency
    return fields


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

    Tickets an agent holds or a person re-routed are left alone (machine_may_route). Each
    update re-checks that, so a claim or re-route made meanwhile wins.
    """
    now = now or datetime.now(UTC)
    rules = active_rules()
    result = Rerouted()
    # One indexed day at a time: millions of open tickets are never asked for in one query.
    for ticket in store.scan_by_created_day(projection=store.Projection.STATE):
        if not machine_may_route(ticket) or ticket.get("needs_analysis") or not ticket.get("analysis"):
            continue
        result.scanned += 1
        route = decide_route(analysis=stored_analysis(ticket),
                                     text=routing_text(ticket),
                                     language=ticket.get("language"), author=ticket.get("customer"), rules=rules)
        changes = routed_fields(ticket=ticket, route=route, now=now)
        if (changes["team"], changes["urgency"], changes["routing_rule"]) == (
                ticket.get("team"), ticket.get("urgency"), ticket.get("routing_rule")):
            continue
        with store.skipping_unwritable("re-routing"):
            written = apply_change(ticket=ticket, changes=changes, by="system:routing", action=AuditAction.REROUTED,
                                   details={"team": [ticket.get("team"), route.team], "rule": route.rule},
                                   condition=MACHINE_ROUTABLE, now=now)
            result.changed += written is not None
    return result
