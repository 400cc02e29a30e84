"""dashboard/api.py: the KPI report, the open alerts and the system's health over the REST
API, for managers only; a refused KPI view answers 400 with its reason, a broken broker
answers with the health it could read."""

from datetime import UTC, datetime

import pytest
from django_q.conf import Conf

from dallosh import tokens
from dashboard.models import Alert

pytestmark = pytest.mark.django_db


def token_for(user):
    return {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(user)}"}


def test_kpis_for_managers_only(client, make_user, analysed):
    analysed("internet down", "my bill is wrong")
    kpis = client.get("/api/v1/kpis?team=billing", **token_for(make_user("max", role="manager")))
    assert kpis.status_code == 200
    topics = kpis.json()["tables"]["topics"]
    assert topics["columns"] == ["value", "tickets", "share"] and topics["rows"] == [["billing", 1, 1.0]]
    assert client.get("/api/v1/kpis", **token_for(make_user("ana", "tech"))).status_code == 403
    bad = client.get("/api/v1/kpis?period=custom&from=2017-01-01", **token_for(make_user("mia", role="manager")))
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["error"]


def test_alerts_health_and_jobs_follow_the_same_rules(client, make_user):
    manager, agent = token_for(make_user("max", role="manager")), token_for(make_user("ana", "tech"))
    assert client.get("/api/v1/alerts", **manager).json() == []
    health = client.get("/api/v1/health", **manager).json()
    assert set(health) == {"tasks_queued", "broker_error", "jobs_running", "clusters", "providers"}
    for path in ("/api/v1/alerts", "/api/v1/health", "/api/v1/ingest/jobs"):
        assert client.get(path, **agent).status_code == 403, path
    staff = token_for(make_user("root", role="admin"))
    assert client.get("/api/v1/ingest/jobs", **staff).json() == []

def test_a_days_kpis_come_by_the_hour_and_a_refusal_speaks_the_callers_language(client, make_user, analysed):
    analysed("internet down", "no signal", "my bill is wrong")  # 2017-10-31, 10:00 to 10:02
    manager = token_for(make_user("max", role="manager"))
    day = client.get("/api/v1/kpis?period=custom&from=2017-10-31&to=2017-10-31&team=tech", **manager).json()
    assert (day["grain"], day["period"]) == ("h", "custom")
    assert day["tables"]["teams"]["rows"] == [["tech", 2, 1.0]]
    backwards = client.get("/api/v1/kpis?period=custom&from=2017-11-01&to=2017-10-31", HTTP_ACCEPT_LANGUAGE="fr",
                           **manager)
    assert backwards.status_code == 400
    assert backwards.json() == {"error": "Période personnalisée : la fin précède le début."}


def test_an_open_alert_is_listed_with_its_figures_and_tickets(client, make_user, settings):
    settings.TIME_ZONE = "Europe/Paris"  # times are written in the site's zone: an hour ahead of UTC in November
    raised = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)
    alert = Alert(rule_id=4, rule_name="outage", kind="outage_burst", team="tech",
                  message="Possible outage: 2 network complaints in 60 min, usually 0.0 (lyon 2).",
                  figures={"complaints": 2, "usual": 0.0, "top": "lyon 2", "window": 60, "threshold": "3"},
                  groups={"region:lyon": ["twcs:1", "twcs:2"]}, ticket_ids=["twcs:1", "twcs:2"],
                  raised_at=raised, updated_at=raised).save()
    listed = client.get("/api/v1/alerts", **token_for(make_user("max", role="manager"))).json()
    assert listed == [{"id": str(alert.id), "rule_name": "outage", "kind": "outage_burst", "team": "tech",
                       "message": "Possible outage: 2 network complaints in 60 min, usually 0.0 (lyon 2).",
                       "raised_at": "2026-11-27T11:30:00+01:00", "updated_at": "2026-11-27T11:30:00+01:00",
                       "open": True, "closed_at": None, "acknowledged_by": None, "acknowledged_at": None,
                       "figures": {"complaints": 2, "usual": 0.0, "top": "lyon 2", "window": 60, "threshold": "3"},
                       "groups": {"region:lyon": ["twcs:1", "twcs:2"]}, "ticket_ids": ["twcs:1", "twcs:2"]}]


def test_the_health_of_a_broker_that_cannot_be_reached_is_answered_not_failed(client, make_user, monkeypatch):
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")  # nothing listens there
    answer = client.get("/api/v1/health", **token_for(make_user("max", role="manager")))
    assert answer.status_code == 200
    health = answer.json()
    assert health["tasks_queued"] is None and health["clusters"] == []
    assert health["broker_error"].startswith("ConnectionError: ")
