"""Every route × every role → allowed or denied, with the routes read from the URL confs
(HTTP and websocket): a route added without a line in EXPECTED fails this test, so no door
is forgotten.

The expectations are written here from the roles' definitions (dallosh/permissions.py's
docstring and the README), not read from the code: agents work their own team's tickets,
managers read everything and the KPIs, admins also edit rules and use the Django admin,
ingest accounts only ingest.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from config import ws_urls
from config.asgi import application
from dallosh.permissions import INGEST_GROUP
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # websocket consumers read users from other threads

ROLES = ("anonymous", "tech_agent", "billing_agent", "manager", "admin", "ingest")
LOGGED_IN = set(ROLES) - {"anonymous"}
QUEUE_READERS = {"tech_agent", "manager", "admin"}  # the sample ticket and queue are the tech team's
MANAGERS = {"manager", "admin"}
INGESTERS = {"admin", "ingest"}  # staff (admins) and the ingest group
EVERYONE = set(ROLES)
FAKE = "000000000000000000000000"

# route name → (method, path, body, roles allowed). {ticket} and {alert} are real objects.
EXPECTED: dict[str, tuple[str, str, dict | None, set[str]]] = {
    "home": ("GET", "/", None, LOGGED_IN),
    "kpis": ("GET", "/kpis/", None, MANAGERS),
    "alerts_panel": ("GET", "/alerts/panel/", None, LOGGED_IN),
    "alert_acknowledge": ("POST", "/alerts/{alert}/acknowledge/", {}, MANAGERS),
    "login": ("GET", "/login/", None, EVERYONE),
    "logout": ("POST", "/logout/", {}, EVERYONE),
    "favicon": ("GET", "/favicon.ico", None, EVERYONE),
    "set_language": ("POST", "/i18n/setlang/", {"language": "fr"}, EVERYONE),  # the header's FR / EN switch
    "javascript-catalog": ("GET", "/jsi18n/", None, EVERYONE),  # the pages' scripts' translations
    "api_token": ("GET", "/account/api-token/", None, LOGGED_IN),  # each person's own token
    "api_token_revoke": ("GET", "/account/api-token/revoke/", None, LOGGED_IN),
    "tickets:my_queue": ("GET", "/queues/", None, {"tech_agent", "billing_agent", "manager", "admin"}),
    "tickets:queue": ("GET", "/queues/tech/", None, QUEUE_READERS),
    "tickets:queue_row": ("GET", "/queues/tech/rows/{ticket}/", None, QUEUE_READERS),
    "tickets:bulk": ("POST", "/queues/tech/bulk/", {"action": "claim", "ticket": "{ticket}"}, QUEUE_READERS),
    "tickets:ticket": ("GET", "/tickets/{ticket}/", None, QUEUE_READERS),
    "tickets:action": ("POST", "/tickets/{ticket}/note/", {"text": "checked"}, QUEUE_READERS),
    "drafts:request": ("POST", "/tickets/{ticket}/draft-reply/", {}, QUEUE_READERS),
    "drafts:latest": ("GET", "/tickets/{ticket}/draft-reply/latest/", None, QUEUE_READERS),
    "ingestion:upload": ("GET", "/ingest/", None, INGESTERS),
    "ingestion:upload_start": ("POST", "/ingest/uploads/", {}, INGESTERS),
    "ingestion:upload_chunk": ("POST", f"/ingest/uploads/{FAKE}/chunk", {}, INGESTERS),
    "ingestion:upload_finish": ("POST", f"/ingest/uploads/{FAKE}/finish", {}, INGESTERS),
    "ingestion:upload_messages": ("POST", "/ingest/messages/", {}, INGESTERS),
    "ingestion:job_progress": ("GET", f"/ingest/jobs/{FAKE}/progress", None, INGESTERS),
    "api-schema": ("GET", "/api/v1/schema", None, LOGGED_IN),
    "api-docs": ("GET", "/api/v1/docs", None, LOGGED_IN),
    "api-ingest-stream": ("POST", "/api/v1/ingest/stream", [], INGESTERS),
    "api-ingest-mail": ("POST", "/api/v1/ingest/mail", [], INGESTERS),  # a JSON body: 415 once let in
    "api-ingest-calls": ("POST", "/api/v1/ingest/calls", [], INGESTERS),  # "[]": refused with a reason once let in
    "api-ingest-jobs": ("GET", "/api/v1/ingest/jobs", None, INGESTERS),
    "api-ingest-job": ("GET", f"/api/v1/ingest/jobs/{FAKE}", None, INGESTERS),
    "api-queue": ("GET", "/api/v1/queues/tech/tickets", None, QUEUE_READERS),
    "api-ticket": ("GET", "/api/v1/tickets/{ticket}", None, QUEUE_READERS),
    "api-ticket-action": ("POST", "/api/v1/tickets/{ticket}/note", {"text": "checked"}, QUEUE_READERS),
    "api-analysis": ("GET", "/api/v1/analyses/{ticket}", None, QUEUE_READERS),
    "api-kpis": ("GET", "/api/v1/kpis", None, MANAGERS),
    "api-alerts": ("GET", "/api/v1/alerts", None, MANAGERS),
    "api-health": ("GET", "/api/v1/health", None, MANAGERS),
    "api-routing-rule-list": ("GET", "/api/v1/routing-rules", None, {"admin"}),
    "api-routing-rule-detail": ("GET", f"/api/v1/routing-rules/{10**6}", None, {"admin"}),
}
# Objects that may not exist: answering 404 there means the permission gate let the user through.
ABSENT_OBJECT_ROUTES = {name for name, (_, path, _, _) in EXPECTED.items()
                        if FAKE in path or path.endswith(f"/{10**6}")}
# The Django admin is for admins only, except its login and logout pages; autocomplete
# answers 403 to any request without its model and field arguments.
ADMIN_UNCHECKED = {"admin:login", "admin:logout", "admin:autocomplete"}

WEBSOCKETS = {
    "ws/alerts/": {"tech_agent", "billing_agent", "manager", "admin"},  # managers, and each team its own
    "ws/kpis/": MANAGERS,
    "ws/queues/<str:team>/": QUEUE_READERS,
    "ws/tickets/<str:ticket_id>/": QUEUE_READERS,
}


def named_routes(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from named_routes(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", pattern


@pytest.fixture
def people(make_user, django_user_model):
    ingest = django_user_model.objects.create_user(username="feed", password="password")
    ingest.groups.set([Group.objects.get_or_create(name=INGEST_GROUP)[0]])
    return {"anonymous": None, "tech_agent": make_user("ana", "tech"), "billing_agent": make_user("bea", "billing"),
            "manager": make_user("max", role="manager"), "admin": make_user("root", role="admin"), "ingest": ingest}


@pytest.fixture
def objects(analysed):
    from dashboard.models import Alert

    now = datetime.now(UTC)
    alert = Alert(rule_id=1, rule_name="backlog", kind="team_backlog", team="tech", message="tech backlog",
                  raised_at=now, updated_at=now).save()
    return {"ticket": analysed("my fibre is down")[0], "alert": str(alert.id)}


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def allowed(response, *, absent_object: bool) -> bool:
    assert response.status_code < 500, f"{response.status_code} is a failure, not an answer"
    if response.status_code in (401, 403):
        return False
    if response.status_code == 302 and "next=" in response.headers.get("Location", ""):  # sent to log in
        return False
    if response.status_code == 404:
        return absent_object  # a real object answered 404 is one hidden from this user
    return True


def test_every_http_route_is_in_the_matrix():
    routes = {name for name, _ in named_routes(get_resolver().url_patterns) if not name.startswith("admin:")}
    assert routes - set(EXPECTED) == set(), "a new route needs its line in EXPECTED"
    assert set(EXPECTED) - routes == set(), "EXPECTED names a route that no longer exists"


def test_http_routes_allow_exactly_the_expected_roles(people, objects):
    cache.clear()  # throttling counters of other tests
    wrong = []
    for name, (method, path, body, expected) in EXPECTED.items():
        path = path.format(**objects)
        if isinstance(body, dict):
            body = {key: value.format(**objects) for key, value in body.items()}
        for role, user in people.items():
            client = client_for(user)
            if method == "GET":
                response = client.get(path)
            elif path.startswith("/api/"):
                response = client.post(path, body, content_type="application/json")
            else:
                response = client.post(path, body)  # the pages' forms
            if response.status_code >= 500 or (
                    allowed(response, absent_object=name in ABSENT_OBJECT_ROUTES) != (role in expected)):
                wrong.append((name, role, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))


def test_the_django_admin_is_for_admins_only(people):
    """Every admin page that takes no argument: admins get it, everyone else is sent to log in."""
    wrong = []
    for name, pattern in named_routes(get_resolver().url_patterns):
        if not name.startswith("admin:") or pattern.pattern.regex.groups or name in ADMIN_UNCHECKED:
            continue
        path = "/admin/" + str(pattern.pattern).lstrip("^").rstrip("$")
        for role, user in people.items():
            response = client_for(user).get(path)
            if response.status_code == 404:
                continue  # a pattern Django only answers with a real object or app label
            if allowed(response, absent_object=False) != (role == "admin"):
                wrong.append((name, role, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))


def test_every_websocket_route_allows_exactly_the_expected_roles(people, objects):
    routes = {str(pattern.pattern) for pattern in ws_urls.websocket_urlpatterns}
    assert routes == set(WEBSOCKETS), "a new websocket route needs its line in WEBSOCKETS"
    paths = {"ws/alerts/": "/ws/alerts/", "ws/kpis/": "/ws/kpis/", "ws/queues/<str:team>/": "/ws/queues/tech/",
             "ws/tickets/<str:ticket_id>/": f"/ws/tickets/{objects['ticket']}/"}
    headers = {role: _socket_headers(user) for role, user in people.items()}

    async def outcomes():
        seen = {}
        for route, path in paths.items():
            for role in ROLES:
                communicator = WebsocketCommunicator(application, path, headers=headers[role])
                connected, _ = await communicator.connect(timeout=5)
                await communicator.disconnect()
                seen[(route, role)] = connected
        return seen

    seen = async_to_sync(outcomes)()
    wrong = [(route, role, seen[(route, role)]) for route, expected in WEBSOCKETS.items() for role in ROLES
             if seen[(route, role)] != (role in expected)]
    assert not wrong, "\n".join(map(str, wrong))


def _socket_headers(user) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        client = client_for(user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return headers


# Every ticket action × who tries it, on a tech ticket. "holder" holds it where the action
# needs a holder, and made the correction where one is withdrawn; "colleague" is another
# tech agent. From the roles: agents work their team's tickets and claim for themselves;
# only the holder (or a manager) releases; handing a ticket to someone is a manager's
# action; only a correction's author (or a manager) withdraws it; managers supervise but
# hold no ticket.
ACTORS = ("holder", "colleague", "billing_agent", "manager", "admin")
TEAM_AND_MANAGERS = {"holder", "colleague", "manager", "admin"}
ACTIONS: dict[str, tuple[dict, bool, set[str]]] = {  # action → (body, held by the holder first, allowed)
    "claim": ({}, False, {"holder", "colleague"}),
    "release": ({}, True, {"holder", "manager", "admin"}),
    "assign": ({"assignee": "tom"}, True, {"manager", "admin"}),
    "status": ({"status": "waiting_customer"}, True, TEAM_AND_MANAGERS),
    "resolve": ({}, True, TEAM_AND_MANAGERS),
    "reroute": ({"team": "billing", "reason": "about the bill"}, False, TEAM_AND_MANAGERS),
    "note": ({"text": "checked the line"}, True, TEAM_AND_MANAGERS),
    "reply": ({"text": "Hello, could you DM us your account number?"}, True, TEAM_AND_MANAGERS),
    "correct": ({"sentiment": "negative", "topic": "network", "urgency": "high", "actionable": True}, False,
                TEAM_AND_MANAGERS),
    "withdraw_correction": ({}, False, {"holder", "manager", "admin"}),
}
CORRECTED_BY_THE_HOLDER_FIRST = {"withdraw_correction"}
HOLDER_AND_MANAGERS = {"holder", "manager", "admin"}
# The same actions where who holds the ticket matters: every status move of a held ticket
# (back to new takes it from its holder), and a re-route of a held one.
HELD_CASES: list[tuple[str, dict, set[str]]] = [
    *(("status", {"status": status}, HOLDER_AND_MANAGERS if status == "new" else TEAM_AND_MANAGERS)
      for status in ("new", "waiting_customer", "resolved")),
    ("reroute", {"team": "billing", "reason": "about the bill"}, HOLDER_AND_MANAGERS),
]


def test_the_matrix_covers_every_action_of_the_one_registry():
    from tickets.actions import ACTIONS as REGISTRY

    assert set(ACTIONS) == set(REGISTRY), "a new action needs its line in ACTIONS"


@pytest.mark.parametrize("surface", ["api", "page"])
def test_every_ticket_action_allows_exactly_the_expected_roles(analysed, make_user, surface):
    """Allowed is 200; refused is 403 (may see, may not act) or 404 (may not see). Anything
    else (a 409 from a badly prepared ticket, a 500) is a failure of its own."""
    from tickets import services

    actors = {"holder": make_user("ana", "tech"), "colleague": make_user("tom", "tech"),
              "billing_agent": make_user("bea", "billing"), "manager": make_user("max", role="manager"),
              "admin": make_user("root", role="admin")}
    cache.clear()
    wrong = []
    cases = [*((action, body, held, expected) for action, (body, held, expected) in ACTIONS.items()),
             *((action, body, True, expected) for action, body, expected in HELD_CASES)]
    for case, (action, body, held, expected) in enumerate(cases):
        for actor in ACTORS:
            ticket_id = analysed(f"my fibre is down ({action} {case} {ACTORS.index(actor)})")[0]
            if held:
                services.claim_ticket(ticket_id=ticket_id, user=actors["holder"])
            if action in CORRECTED_BY_THE_HOLDER_FIRST:
                services.correct_labels(ticket_id=ticket_id, user=actors["holder"], sentiment="negative",
                                        topic="network", urgency="high", actionable=True)
            client = client_for(actors[actor])
            if surface == "api":
                response = client.post(f"/api/v1/tickets/{ticket_id}/{action}", body, content_type="application/json")
            else:
                response = client.post(f"/tickets/{ticket_id}/{action}/", body, HTTP_ACCEPT="application/json")
            outcome = {200: True, 403: False, 404: False}.get(response.status_code)
            if outcome is None or outcome != (actor in expected):
                wrong.append((action, body, actor, response.status_code, response.content[:120]))
            if held and outcome is False:
                assert Ticket.objects.get(id=ticket_id).assignee == "ana", (action, body, actor, "holder lost")
    assert not wrong, "\n".join(map(str, wrong))
