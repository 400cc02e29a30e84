"""The routing decision: LABELS.md's default routing, then admin rules by priority."""

import pytest

from dallosh.vocabulary import Analysis
from tickets import routing
from tickets.models import RoutingRule, Ticket
from tickets.routing import decide_route


def analysis(topic, team="tech", urgency="medium", sentiment="negative"):
    return Analysis(sentiment=sentiment, topic=topic, urgency=urgency, team=team, actionable=True, summary="s")


@pytest.mark.parametrize(("topic", "model_team", "expected"), [
    ("network", "billing", "tech"),
    ("technical", "commercial", "tech"),
    ("billing", "tech", "billing"),
    ("commercial", "tech", "commercial"),
    ("customer_service", "billing", "billing"),  # the team the content points to
    ("other", "tech", "tech"),
])
def test_default_routing_follows_labels_md(topic, model_team, expected, db):
    route = decide_route(analysis=analysis(topic, team=model_team), text="", language="en")
    assert route.team == expected and route.rule is None and route.urgency == "medium"


def test_first_active_matching_rule_wins(db):
    RoutingRule.objects.create(name="disabled", priority=1, active=False, topic="network", route_to_team="billing")
    RoutingRule.objects.create(name="fr outages are urgent", priority=5, topic="network", language="fr",
                               set_urgency="high")
    RoutingRule.objects.create(name="refunds", priority=10, keywords="avoir, Remboursement", route_to_team="billing")
    fr_outage = decide_route(analysis=analysis("network"), text="plus de fibre depuis lundi", language="fr")
    assert (fr_outage.team, fr_outage.urgency, fr_outage.rule) == ("tech", "high", "fr outages are urgent")
    refund = decide_route(analysis=analysis("commercial"), text="je veux un remboursement", language="fr")
    assert (refund.team, refund.rule) == ("billing", "refunds")
    en_outage = decide_route(analysis=analysis("network"), text="no signal", language="en")
    assert en_outage.rule is None


def test_rules_match_on_the_models_urgency_and_on_the_author(db):
    RoutingRule.objects.create(name="angry escalations", priority=1, urgency="high", sentiment="negative",
                               route_to_team="commercial")
    RoutingRule.objects.create(name="press account", priority=2, author="@LeMonde", set_urgency="high")
    high = decide_route(analysis=analysis("network", urgency="high"), text="", language="en")
    assert (high.team, high.rule) == ("commercial", "angry escalations")
    press = decide_route(analysis=analysis("billing", urgency="low"), text="", language="fr", author="lemonde")
    assert (press.team, press.urgency, press.rule) == ("billing", "high", "press account")
    other = decide_route(analysis=analysis("billing", urgency="low"), text="", language="fr", author="someone")
    assert other.rule is None


def test_admin_edits_routing_rules(admin_client):
    page = admin_client.get("/admin/tickets/routingrule/add/")
    assert page.status_code == 200 and "customer_service" in page.content.decode()
    created = admin_client.post("/admin/tickets/routingrule/add/", {
        "name": "vip", "priority": 3, "active": "on", "topic": "", "sentiment": "", "urgency": "", "language": "",
        "keywords": "vip", "author": "", "route_to_team": "commercial", "set_urgency": "high"})
    assert created.status_code == 302
    assert RoutingRule.objects.get(name="vip").route_to_team == "commercial"


def test_rule_that_changes_nothing_is_refused_in_the_admin(admin_client):
    answer = admin_client.post("/admin/tickets/routingrule/add/", {
        "name": "noop", "priority": 3, "active": "on", "topic": "network", "sentiment": "", "urgency": "",
        "language": "", "keywords": "", "author": "", "route_to_team": "", "set_urgency": ""})
    assert answer.status_code == 200 and not RoutingRule.objects.filter(name="noop").exists()
    assert "A rule must set a team, an urgency, or both." in answer.content.decode()


@pytest.fixture
def analysed_tickets(db, use_tiers, fault_server):
    from analysis import services
    from ingestion.services import ingest_records

    texts = ["my fibre is down since monday", "refund please, charged twice on my bill", "is 5G offered in Lyon"]
    ingest_records(records=[{"tweet_id": str(n), "author_id": f"c{n}", "inbound": True, "text": text,
                             "created_at": "Tue Oct 31 10:00:00 +0000 2017", "response_tweet_id": "",
                             "in_response_to_tweet_id": None} for n, text in enumerate(texts, 1)], source="twcs")
    use_tiers(("openai", fault_server.url))
    services.analyse_tickets(ticket_ids=[t.id for t in Ticket.objects.all()])
    return {t.customer: t.id for t in Ticket.objects.all()}


def test_the_admin_shows_how_many_recent_tickets_a_rule_matches(admin_client, analysed_tickets):
    rule = RoutingRule.objects.create(name="refunds", keywords="refund", route_to_team="commercial")
    page = admin_client.get(f"/admin/tickets/routingrule/{rule.id}/change/").content.decode()
    assert "<strong>1</strong> of the last 3 analysed tickets match" in page
    assert "charged twice on my bill" in page and "fibre is down" not in page


def test_rerouting_applies_changed_rules_to_open_unassigned_tickets_only(analysed_tickets):
    assert Ticket.objects.get(id=analysed_tickets["c2"]).team == "billing"
    Ticket._get_collection().update_one({"_id": analysed_tickets["c1"]}, {"$set": {"assignee": "alice"}})
    RoutingRule.objects.create(name="everything to commercial", route_to_team="commercial")
    result = routing.reroute_open_tickets()
    assert (result.scanned, result.changed) == (2, 2)
    teams = {t.customer: (t.team, t.routing_rule) for t in Ticket.objects.all()}
    assert teams["c2"] == ("commercial", "everything to commercial")
    assert teams["c3"] == ("commercial", "everything to commercial")
    assert teams["c1"] == ("tech", None), "a ticket an agent holds is not moved"


def test_the_admin_queues_rerouting_for_a_worker(admin_client, monkeypatch):
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: queued.append(args))
    answer = admin_client.post("/admin/tickets/routingrule/reroute/", follow=True)
    assert "Re-routing of open, unassigned tickets has been queued" in answer.content.decode()
    assert queued == [("tickets.tasks.reroute_open_tickets", "admin")]


def test_keywords_are_split_on_lines_and_on_commas(db):
    RoutingRule.objects.create(name="money back", priority=1, route_to_team="billing",
                               keywords="avoir\r\nremboursement, refund\n\ncharged twice")
    for text in ("un avoir svp", "je veux un REMBOURSEMENT", "refund me", "I was charged twice"):
        assert decide_route(analysis=analysis("commercial"), text=text, language="fr").rule == "money back", text
    assert decide_route(analysis=analysis("commercial"), text="charged once", language="fr").rule is None


def test_rerouting_a_corrected_ticket_keeps_what_its_withdrawal_gives_back(analysed_tickets, make_user):
    """The agent's urgency outlives re-routing; the route's own urgency is kept on the
    correction, so withdrawing it later gives the ticket what routing now says."""
    from tickets import services

    refund = analysed_tickets["c2"]
    services.correct_labels(ticket_id=refund, user=make_user("bea", "billing"), sentiment="negative",
                            topic="billing", urgency="medium", actionable=True)
    assert Ticket.objects.get(id=refund).correction.routed_urgency == "low"  # the model's, by default routing
    RoutingRule.objects.create(name="refunds are urgent", keywords="refund", route_to_team="commercial",
                               set_urgency="high")
    routing.reroute_open_tickets()
    ticket = Ticket.objects.get(id=refund)
    assert (ticket.team, ticket.urgency, ticket.correction.routed_urgency) == ("commercial", "medium", "high")
    services.withdraw_correction(ticket_id=refund, user=make_user("max", role="manager"))
    assert Ticket.objects.get(id=refund).urgency == "high"


def test_a_person_s_re_route_stands_against_every_later_rule_re_route(analysed_tickets, make_user):
    from tickets import services

    fibre = analysed_tickets["c1"]
    services.reroute_ticket(ticket_id=fibre, user=make_user("ana", "tech"), team="commercial", reason="a sales call")
    RoutingRule.objects.create(name="everything to billing", route_to_team="billing")
    routing.reroute_open_tickets()
    ticket = Ticket.objects.get(id=fibre)
    assert (ticket.team, ticket.routed_by, ticket.routing_rule) == ("commercial", "ana", "re-routed by ana")
    assert Ticket.objects.get(id=analysed_tickets["c3"]).team == "billing"  # the machine's routing moves


def test_routing_reads_the_agent_s_corrected_topic(analysed_tickets, make_user):
    from tickets import services

    fibre = analysed_tickets["c1"]
    assert Ticket.objects.get(id=fibre).team == "tech"
    services.correct_labels(ticket_id=fibre, user=make_user("ana", "tech"), sentiment="negative", topic="billing",
                            urgency="medium", actionable=True)
    routing.reroute_open_tickets()  # no rule: the default routing, on the labels in force
    assert Ticket.objects.get(id=fibre).team == "billing"
