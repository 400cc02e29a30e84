"""The REST API: its published OpenAPI schema, throttling. (The KPI, alerts and health
endpoints are tested in tests/dashboard/test_api.py, the routing rules in
tests/tickets/test_rules_api.py.)"""

import re

import pytest
import yaml
from django.core.cache import cache
from django.urls import URLPattern, URLResolver
from openapi_spec_validator import validate
from rest_framework.throttling import UserRateThrottle

from config import api_urls
from dallosh import tokens

pytestmark = pytest.mark.django_db


def token_for(user):
    return {"HTTP_AUTHORIZATION": f"Token {tokens.create_token(user)}"}


def api_paths(patterns, prefix="/api/v1/"):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from api_paths(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_the_published_schema_is_valid_openapi_and_covers_every_endpoint(client, make_user):
    answer = client.get("/api/v1/schema", **token_for(make_user("ana", "tech")))
    assert answer.status_code == 200
    spec = yaml.safe_load(answer.content)
    validate(spec)  # raises on an invalid OpenAPI document
    documented = set(spec["paths"])
    for path in api_paths(api_urls.urlpatterns):
        if path.endswith(("/schema", "/docs")):  # the schema itself, and the page that shows it
            continue
        as_openapi = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: "{id}" if m[1] == "pk" else "{" + m[1] + "}", path)
        as_openapi = re.sub(r"<\w+:(\w+)>", r"{\1}", as_openapi).replace("^", "").replace("$", "")
        assert as_openapi in documented, (path, sorted(documented))


def test_a_flooding_client_is_throttled_not_served(client, make_user, monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {**UserRateThrottle.THROTTLE_RATES, "user": "5/min"})
    cache.clear()
    headers = token_for(make_user("ana", "tech"))
    codes = [client.get("/api/v1/queues/tech/tickets", **headers).status_code for _ in range(8)]
    cache.clear()
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3


def test_an_analysis_shows_the_model_answer_beside_the_agent_correction(client, make_user, analysed):
    ticket_id = analysed("internet down")[0]
    agent = make_user("ana", "tech")
    headers = token_for(agent)
    corrected = client.post(f"/api/v1/tickets/{ticket_id}/correct", {"sentiment": "neutral", "topic": "technical",
                                                                      "urgency": "medium", "actionable": True},
                            content_type="application/json", **headers)
    assert corrected.status_code == 200, corrected.content
    answer = client.get(f"/api/v1/analyses/{ticket_id}", **headers).json()
    # the scripted model's keyword rules for "internet down": negative, network, high
    assert (answer["answer"]["sentiment"], answer["answer"]["topic"], answer["answer"]["urgency"]) == (
        "negative", "network", "high")
    assert answer["correction"]["by"] == "ana" and answer["correction"]["topic"] == "technical"
    assert answer["labels"] == {"sentiment": "neutral", "topic": "technical", "urgency": "medium", "team": "tech",
                                "actionable": True}  # the labels in force: the correction wins
    assert client.get(f"/api/v1/analyses/{ticket_id}", **token_for(make_user("bea", "billing"))).status_code == 404


def test_the_queue_api_lists_the_tickets_the_machine_is_unsure_of(client, make_user, fast_labelled):
    sure, low_doubt, high_doubt = fast_labelled(
        "internet down at home", "no signal in Paris", "fibre down in Lyon",
        doubts={"no signal in Paris": {"topic": 0.41}, "fibre down in Lyon": {"urgency": 0.55}})
    headers = token_for(make_user("ana", "tech"))
    every = client.get("/api/v1/queues/tech/tickets", **headers).json()["results"]
    assert [(row["id"], row["unsure"]) for row in every] == [(sure, False), (high_doubt, True), (low_doubt, True)]
    unsure = client.get("/api/v1/queues/tech/tickets?unsure=1", **headers).json()["results"]
    assert [row["id"] for row in unsure] == [high_doubt, low_doubt]
    ignored = client.get("/api/v1/queues/tech/tickets?unsure=maybe", **headers).json()["results"]
    assert [row["id"] for row in ignored] == [sure, high_doubt, low_doubt]
    corrected = client.post(f"/api/v1/tickets/{low_doubt}/correct", {"sentiment": "negative", "topic": "network",
                                                                     "urgency": "low", "actionable": True},
                            content_type="application/json", **headers)
    assert corrected.status_code == 200 and corrected.json()["unsure"] is False
    assert [row["id"] for row in client.get("/api/v1/queues/tech/tickets?unsure=1", **headers).json()["results"]] \
        == [high_doubt]
    spec = yaml.safe_load(client.get("/api/v1/schema", **headers).content)
    queue = spec["paths"]["/api/v1/queues/{team}/tickets"]["get"]
    assert "unsure" in [parameter["name"] for parameter in queue["parameters"]]
