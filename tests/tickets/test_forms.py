"""The back-office forms (tickets/forms.py): a queue view read from its URL, where an old or
mistyped filter is dropped (the queue still opens) but a page link Dallosh never gave is
told as such, in the reader's language, and the first page shown; and the correction form,
offered with the labels in force. Pure parsing: no server."""

import base64
import json

import pytest
from django.http import QueryDict
from django.utils.translation import override

from tickets.forms import CorrectionForm, queue_filters, queue_request
from tickets.queue_pages import QueueFilters

pytestmark = pytest.mark.no_servers


def cursor(priority, moment: str, ticket_id: str) -> str:
    """A page link's `after`, written by hand: base64 of [priority, ISO moment, ticket id]."""
    return base64.urlsafe_b64encode(json.dumps([priority, moment, ticket_id]).encode()).decode()


def test_a_queue_url_gives_its_filters_and_values_outside_the_vocabulary_are_dropped():
    query = QueryDict("status=waiting_customer&topic=network&sentiment=furious&holder=me&unsure=1&language=fr&q=fibre")
    assert queue_filters(query) == QueueFilters(status="waiting_customer", topic="network", holder="me",
                                                language="fr", search="fibre", unsure=True)
    old_link = QueryDict("status=merged&topic=weather&holder=someone&unsure=yes")
    assert queue_request(old_link) == queue_request(QueryDict(""))
    assert queue_request(old_link).filters == QueueFilters()  # the work to do, every topic


def test_a_long_search_or_language_is_cut_not_refused():
    filters = queue_filters(QueryDict(f"q={'a' * 250}&language=fr-CA-x-something"))
    assert filters.search == "a" * 200 and filters.language == "fr-CA-x-"


def test_a_page_link_dallosh_gave_is_kept():
    after = cursor(3, "2017-10-31T10:00:00+00:00", "twcs:1")
    view = queue_request(QueryDict(f"topic=network&after={after}"))
    assert (view.cursor, view.error, view.filters.topic) == (after, "", "network")


@pytest.mark.parametrize("after", [
    "junk", cursor(3, "2017-10-31T10:00:00", "twcs:1"),  # a date without its time zone
    cursor(42, "2017-10-31T10:00:00+00:00", "twcs:1"),  # a priority no queue has
])
def test_a_hand_made_page_link_shows_the_first_page_and_says_why_in_both_languages(after):
    with override("en"):
        view = queue_request(QueryDict(f"topic=network&after={after}"))
    assert view.cursor == "" and view.filters.topic == "network"  # the filters still hold
    assert view.error == "This page link is not one Dallosh gave (or is out of date): showing the first page."
    with override("fr"):
        assert queue_request(QueryDict(f"after={after}")).error == (
            "Ce lien de page ne vient pas de Dallosh (ou n'est plus à jour) : voici la première page.")


def test_the_correction_form_offers_the_labels_in_force_and_refuses_a_value_outside_them():
    analysis = {"sentiment": "neutral", "topic": "network", "urgency": "low", "actionable": True, "team": "tech"}
    assert CorrectionForm.for_ticket({"analysis": analysis}).initial == {
        "sentiment": "neutral", "topic": "network", "urgency": "low", "actionable": True}
    corrected = {"analysis": analysis, "correction": {"sentiment": "negative", "topic": "billing", "urgency": "high",
                                                      "actionable": False, "by": "ana"}}
    assert CorrectionForm.for_ticket(corrected).initial == {
        "sentiment": "negative", "topic": "billing", "urgency": "high", "actionable": False}
    refused = CorrectionForm({"sentiment": "furious", "topic": "network", "urgency": "high"})
    assert not refused.is_valid() and set(refused.errors) == {"sentiment"}
    with override("fr"):
        assert ("network", "Réseau") in CorrectionForm().fields["topic"].choices
