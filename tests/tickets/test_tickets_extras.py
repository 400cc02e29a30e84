"""The back-office templates' display filters (tickets/templatetags/tickets_extras.py): spans,
counts, percentages, moments and ages written the way the reader reads them, in English and
in French, a value that is missing shown as nothing rather than as "None". (label() is
tests/config/test_translations.py's.)"""

from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone
from django.utils.translation import override

from tickets.templatetags.tickets_extras import (
    change,
    count_capped,
    duration,
    labels,
    language_name,
    mail_automated,
    percent,
    status_label,
    when,
    written,
)

pytestmark = pytest.mark.no_servers

NBSP = "\xa0"  # the French thousands separator, and what ties a number to its unit


@pytest.mark.parametrize(("span", "shown"), [
    (timedelta(minutes=45), "45 min"), (timedelta(hours=3, minutes=10), "3 h 10 min"),
    (timedelta(days=2, hours=4, minutes=59), "2 d 4 h"), (-timedelta(minutes=90), "-1 h 30 min"),
    (timedelta(seconds=59), "0 min"), (None, ""),
])
def test_a_span_is_short_signed_and_in_its_two_largest_units(span, shown):
    with override("en"):
        assert duration(span) == shown


def test_a_span_of_days_reads_in_french_units():
    with override("fr"):
        assert duration(timedelta(days=2, hours=4)) == "2 j 4 h"


def test_counts_percentages_and_changes_read_as_people_write_them():
    with override("en"):
        assert (count_capped(1234, 100_000), count_capped(100_000, 100_000), count_capped(250_000, 100_000)) == (
            "1,234", "100,000+", "100,000+")
        assert (percent(0.873), percent(1), percent(None), percent(True)) == ("87 %", "100 %", "", "")
        assert (change(["new", "resolved"]), change([None, "bob"]), change("plain")) == (
            "new → resolved", "— → bob", "plain")
        assert labels(["topic", "urgency"]) == "topic, urgency" and labels(None) == ""
    with override("fr"):
        assert count_capped(100_000, 100_000) == f"100{NBSP}000+"
        assert labels(["topic", "urgency"]) == "sujet, urgence"


def test_a_moment_is_shown_in_the_operators_time_zone_with_the_zone_named():
    moment = datetime(2017, 10, 31, 10, 20, tzinfo=UTC)  # 11:20 in Paris, winter time since 29 October
    with timezone.override("Europe/Paris"):
        with override("fr"):
            assert when(moment) == "31/10/2017 11:20 CET"
        with override("en"):
            assert when(moment).endswith(" CET") and "11:20" in when(moment)
    assert when(None) == "—"


def test_replayed_history_says_when_it_was_written_and_a_live_ticket_its_age():
    old = {"created_at": datetime(2017, 10, 31, 10, 20, tzinfo=UTC), "ingested_at": datetime(2020, 1, 1, tzinfo=UTC)}
    live = {"created_at": timezone.now() - timedelta(hours=3, minutes=5), "ingested_at": timezone.now()}
    with timezone.override("Europe/Paris"):
        with override("fr"):
            assert (written(old), written(live)) == ("écrit le 31/10/2017", f"il y a 3{NBSP}heures")
        with override("en"):
            assert written(live) == f"3{NBSP}hours ago"  # Django's timesince keeps number and unit together
    assert written({}) == ""


def test_statuses_languages_and_mail_kinds_in_words_and_the_unknown_as_it_is():
    with override("fr"):
        assert (status_label("waiting_customer"), status_label("archived"), status_label(None)) == (
            "en attente du client", "archived", "—")
        assert (language_name("und"), language_name(None), language_name("xx")) == (
            "langue inconnue", "langue inconnue", "xx")
        assert (mail_automated("auto-reply"), mail_automated("digest")) == ("réponse automatique", "digest")
    with override("en"):
        assert language_name("fr") == "French"
        rendered = Template("{% load tickets_extras %}{{ ticket|get_item:'team' }}|{{ none|get_item:'team' }}|"
                            "{{ status|status_label }}").render(Context({"ticket": {"team": "tech"}, "none": None,
                                                                         "status": "in_progress"}))
        assert rendered == "tech|None|in progress"
