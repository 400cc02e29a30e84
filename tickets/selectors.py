"""Ticket reads."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.schema import FIELDS, Analysis
from tickets import routing
from tickets.models import RoutingRule, Ticket

PREVIEW_FIELDS = {"subject": 1, "language": 1, "customer": 1, "team": 1, "urgency": 1, "analysis": 1}


@dataclass(frozen=True)
class RulePreview:
    scanned: int  # recent analysed tickets looked at
    matched: int
    examples: list[dict]


def stored_analysis(ticket: dict) -> Analysis:
    """The model's labels stored on a ticket, as an Analysis."""
    return Analysis(**{name: ticket["analysis"][name] for name in FIELDS})


def routing_text(ticket: dict) -> str:
    """The text routing keywords are matched in: what the model read, else the subject."""
    return ticket["analysis"].get("input_text") or ticket.get("subject") or ""


def rule_preview(*, rule: RoutingRule, recent: int, examples: int) -> RulePreview:
    """How many of the `recent` last analysed tickets this rule's conditions match, and a few
    of them: what an admin needs to see before saving a rule."""
    cursor = (Ticket._get_collection().find({"analysis.analysed_at": {"$exists": True}}, PREVIEW_FIELDS)
              .sort("analysis.analysed_at", -1).limit(recent))
    scanned = matched = 0
    shown: list[dict] = []
    for ticket in cursor:
        scanned += 1
        if not routing.rule_matches(rule, analysis=stored_analysis(ticket),
                                    text=routing_text(ticket),
                                    language=ticket.get("language"), author=ticket.get("customer")):
            continue
        matched += 1
        if len(shown) < examples:
            shown.append({"id": ticket["_id"], "subject": ticket.get("subject", ""), "team": ticket.get("team"),
                          "urgency": ticket.get("urgency"), "topic": ticket["analysis"].get("topic")})
    return RulePreview(scanned=scanned, matched=matched, examples=shown)
