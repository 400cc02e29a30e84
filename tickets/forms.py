"""Form parsing for the back-office pages; choices come from the vocabulary's one home."""

from __future__ import annotations

from django import forms
from django.http import QueryDict

from analysis import schema
from tickets.models import TicketStatus
from tickets.selectors import HOLDERS, QueueFilters

SEARCH_MAX_CHARS = 200


def queue_filters(query: QueryDict) -> QueueFilters:
    """Filters from a URL; values outside their vocabulary are ignored, not trusted."""

    def pick(name: str, allowed: tuple[str, ...]) -> str:
        value = query.get(name, "")
        return value if value in allowed else ""

    return QueueFilters(
        status=pick("status", TicketStatus.LISTED),
        topic=pick("topic", schema.TOPICS),
        sentiment=pick("sentiment", schema.SENTIMENTS),
        language=query.get("language", "")[:8],
        holder=pick("holder", HOLDERS),
        search=query.get("q", "").strip()[:SEARCH_MAX_CHARS],
    )


class CorrectionForm(forms.Form):
    sentiment = forms.ChoiceField(choices=schema.choices("sentiment"))
    topic = forms.ChoiceField(choices=schema.choices("topic"))
    urgency = forms.ChoiceField(choices=schema.choices("urgency"))
    actionable = forms.BooleanField(required=False)

    @classmethod
    def for_ticket(cls, ticket: dict) -> CorrectionForm:
        """Pre-filled with the labels in force: the last correction, else the model's."""
        labels = ticket.get("correction") or ticket.get("analysis") or {}
        return cls(initial={name: labels.get(name) for name in ("sentiment", "topic", "urgency", "actionable")})
