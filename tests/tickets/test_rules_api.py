"""The routing rules REST API for admins (tickets/rules_api.py): admins list, create and
delete the rules the admin pages edit, everyone else is refused; a rule must set a team, an
urgency or both, and a PATCH may not blank either (the message says to PUT the rule, in the
reader's language); a choice is a string, a name has a character, a page size outside 1 to
500 is refused rather than ignored. Through the real API on the SQL database."""

import json

import pytest

from dallosh import tokens
from tickets.models import RoutingRule

pytestmark = pytest.mark.django_db

RULES = "/api/v1/routing-rules"


def token_for(user):
    return {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(user)}"}


@pytest.fixture
def admin(make_user):
    return token_for(make_user("root", role="admin"))


def send(client, method, path, body, headers, **extra):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json", **headers, **extra)


def test_routing_rules_for_admins_only(client, make_user):
    admin = token_for(make_user("root", role="admin"))
    created = client.post("/api/v1/routing-rules", {"name": "vip", "priority": 5, "keywords": "vip",
                                                    "route_to_team": "commercial"}, **admin)
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    listed = client.get("/api/v1/routing-rules?page_size=1", **admin).json()
    assert listed["count"] == RoutingRule.objects.count() and len(listed["results"]) == 1
    assert RoutingRule.objects.get(id=rule_id).route_to_team == "commercial"
    refused = client.post("/api/v1/routing-rules", {"name": "noop", "topic": "network"}, **admin)
    assert refused.status_code == 400 and "must set a team, an urgency, or both" in refused.content.decode()
    # 501 characters sent are over the schema's 500, even when trimming would leave 500.
    too_long = client.post("/api/v1/routing-rules", {"name": "long", "keywords": "\t" + "*" * 500,
                                                     "route_to_team": "tech"}, content_type="application/json",
                           **admin)
    assert too_long.status_code == 400 and "keywords" in too_long.content.decode(), too_long.content
    manager = token_for(make_user("max", role="manager"))
    assert client.get("/api/v1/routing-rules", **manager).status_code == 403
    assert client.delete(f"/api/v1/routing-rules/{rule_id}", **manager).status_code == 403
    assert client.delete(f"/api/v1/routing-rules/{rule_id}", **admin).status_code == 204


def test_a_patch_may_not_blank_a_rules_team_or_urgency_but_a_put_may_clear_one(client, admin):
    rule = RoutingRule.objects.create(name="vip", keywords="vip", route_to_team="commercial", set_urgency="high")
    blanked = send(client, "patch", f"{RULES}/{rule.id}", {"route_to_team": ""}, admin)
    assert blanked.status_code == 400
    assert "A PATCH cannot blank a rule's team or urgency: PUT the rule." in blanked.content.decode()
    french = send(client, "patch", f"{RULES}/{rule.id}", {"set_urgency": ""}, admin, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Un PATCH ne peut pas vider l'équipe ou l'urgence d'une règle : utilisez PUT." in french.content.decode()
    renamed = send(client, "patch", f"{RULES}/{rule.id}", {"name": "vip customers"}, admin)
    assert renamed.status_code == 200 and renamed.json()["route_to_team"] == "commercial"
    put = send(client, "put", f"{RULES}/{rule.id}", {"name": "vip", "keywords": "vip", "route_to_team": "",
                                                     "set_urgency": "high"}, admin)
    assert put.status_code == 200, put.content
    rule.refresh_from_db()
    assert (rule.name, rule.route_to_team, rule.set_urgency) == ("vip", "", "high")


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "one", "route_to_team": 1}, "route_to_team"),  # a choice is a string: 1 is not "1"
    ({"name": "   ", "route_to_team": "tech"}, "name"),
    ({"name": "x", "route_to_team": "tech", "active": "yes"}, "active"),
    ({"name": "x", "route_to_team": "tech", "priority": "5"}, "priority"),
])
def test_a_rule_whose_values_are_of_the_wrong_kind_is_refused_naming_the_field(client, admin, body, field):
    refused = send(client, "post", RULES, body, admin)
    assert refused.status_code == 400 and field in refused.content.decode(), refused.content
    assert RoutingRule.objects.count() == 0


def test_a_page_size_outside_1_to_500_is_refused_and_rules_come_in_priority_order(client, admin):
    for name, priority in (("late", 50), ("first", 1), ("middle", 10)):
        RoutingRule.objects.create(name=name, priority=priority, route_to_team="tech")
    listed = client.get(f"{RULES}?page_size=2", **admin).json()
    assert [rule["name"] for rule in listed["results"]] == ["first", "middle"] and listed["count"] == 3
    for size in ("0", "501", "ten", "-1"):
        refused = client.get(f"{RULES}?page_size={size}", **admin)
        assert refused.status_code == 400 and "page_size: a whole number from 1 to 500" in refused.content.decode()
    assert client.get(f"{RULES}?page=9", **admin).status_code == 404  # a page past the last


def test_agents_and_anonymous_callers_are_refused_the_rules(client, make_user):
    RoutingRule.objects.create(name="vip", keywords="vip", route_to_team="commercial")
    assert client.get(RULES, **token_for(make_user("ana", "tech"))).status_code == 403
    assert client.get(RULES).status_code == 401
    assert send(client, "post", RULES, {"name": "x", "route_to_team": "tech"},
                token_for(make_user("bob", "tech"))).status_code == 403
    assert RoutingRule.objects.count() == 1
