"""dashboard/alert_texts.py: one sentence per kind of alert rule, written from the figures the
alert stores, in the reader's language (French and English here, typed out by hand), while
the stored message stays English whatever language is active."""

import pytest
from django.utils.translation import override

from dashboard.alert_texts import alert_sentence, stored_message

pytestmark = pytest.mark.no_servers

# Figures as dashboard/alerts.py stores them: the rule's window and threshold beside the counts.
BACKLOG = {"open": 12, "window": 60, "threshold": "10"}
BREACHES = {"breached": 3, "window": 60, "threshold": "0"}
SHARE = {"tickets": 40, "high": 17, "share": 42.5, "window": 30, "threshold": "25"}
OUTAGE = {"complaints": 25, "usual": 1.5, "usual_per_hour": 1.5, "top": "lyon 25, en 20", "window": 60,
          "threshold": "3"}


def test_each_kind_of_alert_reads_as_one_english_sentence():
    with override("en"):
        assert alert_sentence(kind="team_backlog", figures=BACKLOG, team="tech") == (
            "12 open tickets in the tech team's queue (threshold 10).")
        assert alert_sentence(kind="team_backlog", figures=BACKLOG, team=None) == (
            "12 open tickets in the queues (threshold 10).")
        assert alert_sentence(kind="sla_breaches", figures=BREACHES, team="billing") == (
            "3 open tickets of the billing team are past their response target (threshold 0).")
        assert alert_sentence(kind="sla_breaches", figures=BREACHES, team=None) == (
            "3 open tickets are past their response target (threshold 0).")
        assert alert_sentence(kind="high_urgency_share", figures=SHARE, team=None) == (
            "42 % of the last 30 min's 40 tickets are high urgency (threshold 25 %).")
        assert alert_sentence(kind="outage_burst", figures=OUTAGE, team="tech") == (
            "Possible outage: 25 network complaints in 60 min, usually 1.5 (lyon 25, en 20).")


def test_a_french_reader_reads_french_with_the_team_named_in_french():
    with override("fr"):
        assert alert_sentence(kind="team_backlog", figures=BACKLOG, team="tech") == (
            "12 tickets ouverts dans la file de l'équipe technique (seuil 10).")
        assert alert_sentence(kind="sla_breaches", figures=BREACHES, team="billing") == (
            "3 tickets ouverts de l'équipe facturation ont dépassé leur délai de réponse (seuil 0).")
        assert alert_sentence(kind="high_urgency_share", figures=SHARE, team=None) == (
            "42 % des 40 tickets des 30 dernières minutes sont d'urgence haute (seuil 25 %).")
        assert alert_sentence(kind="outage_burst", figures=OUTAGE, team="tech") == (
            "Panne possible : 25 plaintes réseau en 60 min, d'habitude 1.5 (lyon 25, en 20).")


def test_the_stored_message_is_english_even_when_the_worker_runs_in_french():
    with override("fr"):
        assert stored_message(kind="team_backlog", figures=BACKLOG, team="commercial") == (
            "12 open tickets in the commercial team's queue (threshold 10).")


def test_figures_without_what_the_sentence_needs_and_unknown_kinds_are_refused():
    """An alert raised before its sentence was written from figures stores no figures: the
    caller then falls back on the stored message (dashboard/selectors.py)."""
    with pytest.raises(KeyError):
        alert_sentence(kind="team_backlog", figures={}, team="tech")
    with pytest.raises(KeyError):
        alert_sentence(kind="volcano", figures=BACKLOG, team=None)
