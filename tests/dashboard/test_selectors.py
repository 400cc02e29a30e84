"""dashboard/selectors.py: the alerts each reader hears of, written in their language; the
system's health, a broken broker shown rather than raised; the days that hold figures. (The
KPI report's figures are checked against the tickets put in, in tests/dashboard/test_kpis.py.)"""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils.translation import override
from django_q.brokers import get_broker
from django_q.conf import Conf

from dashboard import selectors
from dashboard.models import Alert
from ingestion.services import ingest_records
from tests.helpers import twcs_record

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC)


def stored_alert(*, team, minutes_ago, kind="team_backlog", figures=None, message="stored message", groups=None):
    raised = NOW - timedelta(minutes=minutes_ago)
    return str(Alert(rule_id=1, rule_name=f"{kind} {team}", kind=kind, team=team, message=message,
                     figures=figures if figures is not None else {"open": 12, "window": 60, "threshold": "10"},
                     groups=groups or {}, raised_at=raised, updated_at=raised).save().id)


def test_managers_hear_every_open_alert_and_agents_those_of_their_teams(make_user):
    tech = stored_alert(team="tech", minutes_ago=5)
    billing = stored_alert(team="billing", minutes_ago=1)
    everyone = stored_alert(team=None, minutes_ago=3)  # all the queues: a manager's concern
    closed = stored_alert(team="tech", minutes_ago=0)
    Alert.objects(id=closed).update(set__open=False)
    heard = {name: [alert["id"] for alert in selectors.alerts_for(user=user)] for name, user in {
        "manager": make_user("max", role="manager"), "tech and billing": make_user("ana", "tech", "billing"),
        "tech": make_user("tom", "tech"), "commercial": make_user("cid", "commercial")}.items()}
    assert heard == {"manager": [billing, everyone, tech], "tech and billing": [billing, tech], "tech": [tech],
                     "commercial": []}  # newest first, closed ones never
    assert [alert["id"] for alert in selectors.alerts_for(user=make_user("mia", role="manager"), limit=2)] == [
        billing, everyone]


def test_each_reader_gets_the_alert_in_their_language_and_old_alerts_their_stored_message(make_user):
    stored_alert(team="tech", minutes_ago=2)
    stored_alert(team="tech", minutes_ago=1, figures={}, message="7 tickets waiting (an alert from before figures)")
    manager = make_user("max", role="manager")
    with override("fr"):
        french = [alert["text"] for alert in selectors.alerts_for(user=manager)]
    with override("en"):
        english = [alert["text"] for alert in selectors.alerts_for(user=manager)]
    assert french == ["7 tickets waiting (an alert from before figures)",
                      "12 tickets ouverts dans la file de l'équipe technique (seuil 10)."]
    assert english[1] == "12 open tickets in the tech team's queue (threshold 10)."


def test_an_outage_alert_lists_the_size_of_each_group_of_tickets(make_user):
    groups = {f"region:town{n}": [f"twcs:{n}{m}" for m in range(n + 1)] for n in range(9)}
    groups["language:fr"] = ["twcs:1", "twcs:2"]
    stored_alert(team="tech", minutes_ago=1, kind="outage_burst", groups=groups,
                 figures={"complaints": 45, "usual": 1.0, "top": "town8 9", "window": 60, "threshold": "3"})
    [alert] = selectors.alerts_for(user=make_user("max", role="manager"))
    assert alert["group_sizes"] == [("region", f"town{n}", n + 1) for n in range(8)]  # at most 8 groups
    assert alert["text"] == "Possible outage: 45 network complaints in 60 min, usually 1.0 (town8 9)."


def test_the_health_counts_tasks_waiting_and_shows_a_broker_that_cannot_be_reached(broker, monkeypatch):
    queue = get_broker()
    for n in range(3):
        queue.enqueue(f"waiting task {n}")
    try:
        health = selectors.system_health()
    finally:
        queue.purge_queue()
    assert (health["tasks_queued"], health["broker_error"], health["clusters"], health["jobs_running"]) == (
        3, "", [], 0)  # no worker cluster in this test
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")  # nothing listens there
    broken = selectors.system_health()
    assert broken["tasks_queued"] is None and broken["clusters"] == []
    assert broken["broker_error"].startswith("ConnectionError: ")


def test_the_days_that_hold_figures_run_from_the_first_tweet_to_the_last():
    assert selectors.figures_span() is None
    ingest_records(records=[twcs_record(7001, "no signal", at=datetime(2018, 2, 3, 22, 59, tzinfo=UTC)),
                            twcs_record(7002, "my bill is wrong", minute=5)], source="twcs")  # 2017-10-31
    assert selectors.figures_span() == (date(2017, 10, 31), date(2018, 2, 3))
