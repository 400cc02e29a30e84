"""Alert rules and outage burst detection: a synthetic burst injected into real tweets."""

import csv
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator

from analysis import services as analysis_services
from dallosh.asgi import application
from dashboard import services
from dashboard.models import Alert, AlertRule
from ingestion.services import ingest_records
from tests.test_live_consumers import logged_in
from tickets import services as ticket_services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

TWITTER_TIME = "%a %b %d %H:%M:%S +0000 %Y"
BURST_TEXT = "internet down again in Lyon, nothing works"


@pytest.fixture(autouse=True)
def only_the_tests_rules():
    AlertRule.objects.all().delete()  # the starting rules the migration creates are checked in their own test


def tweet(tweet_id, author, text, at):
    return {"tweet_id": str(tweet_id), "author_id": author, "inbound": True, "text": text,
            "created_at": at.strftime(TWITTER_TIME), "response_tweet_id": "", "in_response_to_tweet_id": None}


def analyse_everything():
    pending = list(Ticket.objects(needs_analysis=True).scalar("id"))
    for start in range(0, len(pending), 100):
        analysis_services.analyse_tickets(ticket_ids=pending[start:start + 100])


@pytest.fixture
def real_day(shared_data, use_tiers, fault_server):
    """150 real customer tweets of the shared sample, moved to the last 24 hours and analysed."""
    use_tiers(("openai", fault_server.url), batch_size=20)
    now = datetime.now(UTC)
    with (shared_data / "twcs_sample.csv").open(newline="", encoding="utf-8") as source:
        rows = [row for row in csv.DictReader(source) if row["inbound"] == "True"][:150]
    records = [tweet(row["tweet_id"], row["author_id"], row["text"], now - timedelta(hours=24) + n * 2 * timedelta(
        minutes=4)) for n, row in enumerate(rows)]  # 20 hours of traffic, ending 4 hours ago
    ingest_records(records=records, source="twcs")
    analyse_everything()
    return rows


def inject_burst(count, now):
    ingest_records(records=[tweet(990_000 + n, f"angry{n}", BURST_TEXT, now - timedelta(minutes=30) + n * timedelta(
        seconds=50)) for n in range(count)], source="twcs")
    analyse_everything()


@pytest.fixture
def outage_rule():
    return AlertRule.objects.create(name="outage", kind="outage_burst", threshold=3, window_minutes=60,
                                    min_tickets=10, region_keywords="paris, lyon")


def test_a_burst_of_network_complaints_raises_one_grouped_outage_alert(real_day, outage_rule):
    now = datetime.now(UTC)
    assert services.evaluate_alerts(now=now) == []  # an ordinary day: no alert
    # The usual rate, counted here straight from the tickets (the alert reads the hourly rollups): the real
    # day lies within the 24 whole hours before the window's first hour.
    usual = Ticket.objects(topic="network", sentiment="negative", created_at__lt=now - timedelta(hours=1)).count() / 24
    assert usual > 0
    inject_burst(25, now)
    raised = services.evaluate_alerts(now=datetime.now(UTC))
    assert len(raised) == 1
    alert = Alert.objects.get(open=True)
    assert (alert.kind, alert.team, alert.figures["complaints"]) == ("outage_burst", "tech", 25)
    assert alert.figures["usual_per_hour"] == pytest.approx(usual, abs=0.01)
    assert len(alert.groups["region:lyon"]) == 25 and "region:paris" not in alert.groups
    assert sorted(alert.ticket_ids) == sorted(f"twcs:{990_000 + n}" for n in range(25))
    assert "25 network complaints in 60 min" in alert.message
    assert services.evaluate_alerts(now=datetime.now(UTC)) == []  # still holding: refreshed, not raised again
    assert Alert.objects.count() == 1
    closed = services.evaluate_alerts(now=datetime.now(UTC) + timedelta(hours=3))  # the burst is over
    assert [a["open"] for a in closed] == [False] and Alert.objects(open=True).count() == 0


def test_a_small_cluster_under_the_minimum_is_not_an_outage(real_day, outage_rule):
    inject_burst(5, datetime.now(UTC))
    assert services.evaluate_alerts(now=datetime.now(UTC)) == []


def test_backlog_and_sla_breach_rules(analysed):
    _, second, _ = analysed("internet down", "no signal", "my bill is wrong")
    AlertRule.objects.create(name="tech backlog", kind="team_backlog", team="tech", threshold=1)
    AlertRule.objects.create(name="breaches", kind="sla_breaches", threshold=0)
    raised = services.evaluate_alerts()
    assert [(a["rule_name"], a["figures"]) for a in raised] == [("tech backlog", {"open": 2})]
    Ticket._get_collection().update_one({"_id": second}, {"$set": {"sla_due_at": datetime.now(UTC) - timedelta(1)}})
    ticket_services.flag_breaches()
    assert [(a["rule_name"], a["figures"]) for a in services.evaluate_alerts()] == [("breaches", {"breached": 1})]


@pytest.mark.django_db(transaction=True)
def test_outage_alerts_reach_managers_and_the_tech_team_live(real_day, outage_rule, make_user):
    headers = {"manager": logged_in(make_user("max", role="manager")), "tech": logged_in(make_user("ana", "tech")),
               "billing": logged_in(make_user("bea", "billing"))}

    async def scenario():
        sockets = {name: WebsocketCommunicator(application, "/ws/alerts/", headers=h) for name, h in headers.items()}
        for socket in sockets.values():
            assert (await socket.connect(timeout=5))[0]
        await sync_to_async(inject_burst)(25, datetime.now(UTC))
        await sync_to_async(services.evaluate_alerts)()
        heard = {name: await sockets[name].receive_json_from(timeout=5) for name in ("manager", "tech")}
        billing_quiet = await sockets["billing"].receive_nothing(timeout=0.3)
        for socket in sockets.values():
            await socket.disconnect()
        return heard, billing_quiet

    heard, billing_quiet = async_to_sync(scenario)()
    assert {event["action"] for event in heard.values()} == {"raised"}
    assert all(event["kind"] == "outage_burst" and "network complaints" in event["message"]
               for event in heard.values())
    assert billing_quiet


def test_the_starting_outage_rule_catches_the_burst_too(real_day):
    AlertRule.objects.create(name="Possible network outage", kind="outage_burst", threshold=3, window_minutes=60,
                             min_tickets=10, region_keywords="paris, lyon, marseille")
    inject_burst(25, datetime.now(UTC))
    assert [a["team"] for a in services.evaluate_alerts()] == ["tech"]
