"""Form parsing for the back-office pages; choices come from the vocabulary's one home."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from dallosh import vocabulary
from tickets.models import TicketStatus
from tickets.queue_pages import HOLDERS, InvalidCursor, Position, QueueFilters

SEARCH_MAX_CHARS = 200
LANGUAGE_MAX_CHARS = 8
UNSURE_ONLY = "1"  # ?unsure=1: the tickets the machine is unsure of
BAD_CURSOR = _("This page link is not one Dallosh gave (or is out of date): showing the first page.")


def _choices(values) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class CursorField(forms.CharField):
    """A page cursor as the previous page gave it (Position.encode); a hand-made one (a
    naive date, a priority outside the queue's, junk) is an error to say, not to trust."""

    def to_python(self, value) -> str:
        value = super().to_python(value)
        if value:
            try:
                Position.decode(value)
            except InvalidCursor as error:
                raise forms.ValidationError(BAD_CURSOR, code="cursor") from error
        return value


class QueueFilterForm(forms.Form):
    """A queue view from a URL, so it can be shared and paged. Filter values outside their
    vocabulary are dropped, not refused: an old link still opens the queue."""

    status = forms.ChoiceField(choices=_choices(TicketStatus.LISTED), required=False)
    topic = forms.ChoiceField(choices=_choices(vocabulary.TOPICS), required=False)
    sentiment = forms.ChoiceField(choices=_choices(vocabulary.SENTIMENTS), required=False)
    language = forms.CharField(required=False)
    channel = forms.ChoiceField(choices=_choices(vocabulary.CHANNELS), required=False)
    holder = forms.ChoiceField(choices=_choices(HOLDERS), required=False)
    unsure = forms.ChoiceField(choices=_choices((UNSURE_ONLY,)), required=False)
    q = forms.CharField(required=False)
    after = CursorField(required=False, strip=False)

    def clean_language(self) -> str:
        return self.cleaned_data["language"][:LANGUAGE_MAX_CHARS]

    def clean_q(self) -> str:
        return self.cleaned_data["q"][:SEARCH_MAX_CHARS]


@dataclass(frozen=True)
class QueueRequest:
    filters: QueueFilters
    cursor: str = ""  # a checked Position.encode(), or "" for the first page
    error: str = ""  # why the cursor was refused (the first page is shown instead)


def queue_request(query: QueryDict) -> QueueRequest:
    """The filters and page of a queue URL; a cursor that is not one of ours becomes the
    first page and a message (the page shows it, the API answers 400 with it)."""
    form = QueueFilterForm(query)
    form.is_valid()
    data = form.cleaned_data  # the fields that parsed
    chosen = ("status", "topic", "sentiment", "language", "channel", "holder")
    filters = QueueFilters(**{name: data.get(name) or "" for name in chosen}, search=data.get("q") or "",
                           unsure=data.get("unsure") == UNSURE_ONLY)
    return QueueRequest(filters=filters, cursor=data.get("after") or "",
                        error=" ".join(form.errors.get("after", [])))


def queue_filters(query: QueryDict) -> QueueFilters:
    """Filters from a URL (the page cursor, if any, is not read)."""
    return queue_request(query).filters


class CorrectionForm(forms.Form):
    sentiment = forms.ChoiceField(choices=vocabulary.choices("sentiment"))
    topic = forms.ChoiceField(choices=vocabulary.choices("topic"))
    urgency = forms.ChoiceField(choices=vocabulary.choices("urgency"))
    actionable = forms.BooleanField(required=False)

    @classmethod
    def for_ticket(cls, ticket: dict) -> CorrectionForm:
        """Pre-filled with the labels in force: the last correction, else the model's."""
        labels = vocabulary.labels_in_force(ticket.get("analysis"), ticket.get("correction"))
        return cls(initial={name: labels.get(name) for name in vocabulary.CORRECTED_FIELDS})
