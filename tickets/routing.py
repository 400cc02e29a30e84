"""The routing decision, in one place: LABELS.md's default routing, overridden by rules."""

from __future__ import annotations

from dataclasses import dataclass

from dallosh.vocabulary import FALLBACK_TEAM, TOPIC_TEAM, Analysis
from tickets.models import RoutingRule


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


def active_rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(active=True).order_by("priority", "id"))


def rule_matches(rule: RoutingRule, *, analysis: Analysis, text: str, language: str | None,
                 author: str | None) -> bool:
    """Every condition the rule sets holds (empty conditions match anything)."""
    keywords = [k.strip().casefold() for k in rule.keywords.split(",") if k.strip()]
    return ((not rule.topic or rule.topic == analysis.topic)
            and (not rule.sentiment or rule.sentiment == analysis.sentiment)
            and (not rule.urgency or rule.urgency == analysis.urgency)
            and (not rule.language or rule.language == (language or ""))
            and (not rule.author or rule.author.lstrip("@").casefold() == (author or "").lstrip("@").casefold())
            and (not keywords or any(k in text.casefold() for k in keywords)))
