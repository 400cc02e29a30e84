"""Alert rules and outage burst detection: a synthetic burst injected into real tweets."""

from datetime import UTC, datetime, timedelta
from importlib import import_module

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from dashboard import alerts
from dashboard.models import Alert, AlertRule
from tests.alert_data import inject_burst
from tests.steps import logged_in
from tickets import sla_watch
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_burst_of_network_complaints_raises_one_grouped_outage_alert(real_day, outage_rule):
    now = datetime.now(UTC)
    assert alerts.evaluate_alerts(now=now) == []  # an ordinary day: no alert
    # The usual rate, counted here straight from the tickets (the alert reads the hourly rollups): the real
    # day lies within the 24 whole hours before the window's first hour.
    usual = Ticket.objects(topic="network", sentiment="negative", created_at__lt=now - timedelta(hours=1)).count() / 24
    assert usual > 0
    inject_burst(25, now)
    raised = alerts.evaluate_alerts(now=datetime.now(UTC))
    assert len(raised) == 1
    alert = Alert.objects.get(open=True)
    assert (alert.kind, alert.team, alert.figures["complaints"]) == ("outage_burst", "tech", 25)
    assert alert.figures["usual_per_hour"] == pytest.approx(usual, abs=0.01)
    assert len(alert.groups["region:lyon"]) == 25 and "region:paris" not in alert.groups
    assert sorted(alert.ticket_ids) == sorted(f"twcs:{990_000 + n}" for n in range(25))
    assert "25 network complaints in 60 min" in alert.message
    assert alerts.evaluate_alerts(now=datetime.now(UTC)) == []  # still holding: refreshed, not raised again
    assert Alert.objects.count() == 1
    closed = alerts.evaluate_alerts(now=datetime.now(UTC) + timedelta(hours=3))  # the burst is over
    assert [a["open"] for a in closed] == [False] and Alert.objects(open=True).count() == 0


def test_a_small_cluster_under_the_minimum_is_not_an_outage(real_day, outage_rule):
    inject_burst(5, datetime.now(UTC))
    assert alerts.evaluate_alerts(now=datetime.now(UTC)) == []


def test_backlog_and_sla_breach_rules(analysed, client, make_user):
    AlertRule.objects.all().delete()
    _, second, _ = analysed("internet down", "no signal", "my bill is wrong")
    AlertRule.objects.create(name="tech backlog", kind="team_backlog", team="tech", threshold=1)
    AlertRule.objects.create(name="breaches", kind="sla_breaches", threshold=0)
    raised = alerts.evaluate_alerts()
    assert [(a["rule_name"], a["figures"]) for a in raised] == [
        ("tech backlog", {"open": 2, "window": 60, "threshold": "1"})]
    assert raised[0]["message"] == "2 open tickets in the tech team's queue (threshold 1)."  # stored, in English
    # each reader gets the sentence in their language
    client.force_login(make_user("max", role="manager"))
    panel = client.get("/alerts/panel/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "2 tickets ouverts dans la file de l" in panel
    Ticket._get_collection().update_one({"_id": second}, {"$set": {"sla_due_at": datetime.now(UTC) - timedelta(1)}})
    sla_watch.flag_breaches()
    assert [(a["rule_name"], a["figures"]["breached"]) for a in alerts.evaluate_alerts()] == [("breaches", 1)]


@pytest.mark.django_db(transaction=True)
def test_outage_alerts_reach_managers_and_the_tech_team_live(real_day, outage_rule, make_user):
    manager = make_user("max", role="manager")
    headers = {"manager": logged_in(manager), "tech": logged_in(make_user("ana", "tech")),
               "billing": logged_in(make_user("bea", "billing"))}

    async def scenario():
        sockets = {name: WebsocketCommunicator(application, "/ws/alerts/", headers=h) for name, h in headers.items()}
        for socket in sockets.values():
            assert (await socket.connect(timeout=5))[0]
        await sync_to_async(inject_burst)(25, datetime.now(UTC))
        await sync_to_async(alerts.evaluate_alerts)()
        heard = {name: await sockets[name].receive_json_from(timeout=5) for name in ("manager", "tech")}
        # A billing alert acknowledged after the outage's: had the outage reached billing,
        # it would arrive first.
        await sync_to_async(alerts.acknowledge_alert)(alert_id=await sync_to_async(billing_alert)(), user=manager)
        billing_first = await sockets["billing"].receive_json_from(timeout=5)
        for socket in sockets.values():
            await socket.disconnect()
        return heard, billing_first

    heard, billing_first = async_to_sync(scenario)()
    assert {event["action"] for event in heard.values()} == {"raised"}
    assert all(event["kind"] == "outage_burst" and "network complaints" in event["message"]
               for event in heard.values())
    assert (billing_first["action"], billing_first["team"], billing_first["kind"]) == (
        "acknowledged", "billing", "team_backlog")


def billing_alert() -> str:
    now = datetime.now(UTC)
    return str(Alert(rule_id=1, rule_name="backlog", kind="team_backlog", team="billing",
                     message="billing backlog", raised_at=now, updated_at=now).save().id)


def test_the_starting_rules_catch_the_burst_too(real_day):
    """The rules the migration creates, as it creates them (a transactional test run earlier
    in the same test process may have emptied the table the migration filled)."""
    AlertRule.objects.all().delete()
    for rule in import_module("dashboard.migrations.0002_alert_watch").STARTING_RULES:
        AlertRule.objects.create(**rule)
    assert set(AlertRule.objects.values_list("kind", flat=True)) == {"outage_burst", "high_urgency_share"}
    inject_burst(25, datetime.now(UTC))
    raised = {alert["kind"]: alert for alert in alerts.evaluate_alerts()}
    assert raised["outage_burst"]["team"] == "tech"
    high = sum(1 for t in Ticket.objects(created_at__gte=datetime.now(UTC) - timedelta(hours=1)) if t.urgency == "high")
    assert "high_urgency_share" in raised and high >= 20  # every burst tweet is high urgency
