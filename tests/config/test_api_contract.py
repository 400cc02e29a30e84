"""The API as a true contract (issue 17): a third-party client, schemathesis, reads the
published OpenAPI schema from a live server (Daphne, on the test databases) and sends the
requests it generates from it, valid and invalid, as an agent, a manager and an admin.
Every answer must be one the schema documents: its status code, its content type and its
body; schema-valid requests must be accepted and schema-violating ones rejected (400).

The ids in paths are those of a small real dataset (two analysed tickets, a routing rule,
an alert, an ingest job), so the GET-by-id routes answer 200 and not only 404; the routes'
404s are the permission matrix's to check (tests/dallosh/test_permissions.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from dallosh import tokens
from dashboard.models import Alert
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets.models import RoutingRule

pytestmark = pytest.mark.django_db(transaction=True)  # Daphne reads the users and tokens made here

ROLES = ("agent", "manager", "admin")
EXAMPLES = 3  # per operation, per generation mode (valid and invalid), on top of the coverage phase's cases
SENT: Counter[str] = Counter()  # requests sent per role (printed with -s)

# The mail route takes a message as received (message/rfc822, application/mbox): its body is
# bytes, sent as schemathesis sends any binary body.
schemathesis.serializer.alias(["message/rfc822", "application/mbox"], "application/octet-stream")


@pytest.fixture(params=ROLES)
def api_schema(request, daphne_server, make_user, analysed):
    role = request.param
    # schemathesis 4.32's lazy loader renames the test node through `_nodeid`, which pytest 9's
    # nodes no longer have: give it one (the reports name each operation).
    request.node._nodeid = request.node.nodeid
    user = make_user(f"contract-{role}", "tech", role=role) if role == "agent" else make_user(
        f"contract-{role}", role=role)
    token = tokens.create_token(user)
    tech_ticket, _billing_ticket = analysed("internet down since this morning", "my bill is wrong")
    rule = RoutingRule.objects.create(name="vip", priority=5, keywords="vip", route_to_team="commercial")
    now = datetime.now(UTC)
    Alert(rule_id=1, rule_name="outage", kind="outage_burst", team="tech", message="12 tickets in an hour",
          figures={"tickets": 12}, groups={"language:fr": [tech_ticket]}, ticket_ids=[tech_ticket], raised_at=now,
          updated_at=now).save()
    job = ingest_records(records=[twcs_record(900_001, "still no signal")], source="twcs")
    headers = {"Authorization": f"Token {token}"}
    config = schemathesis.Config.from_dict({
        "headers": headers,
        "base-url": daphne_server,
        "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True, "no-shrink": True,
                       "allow-x00": False},  # NUL is refused in any text (the schema's description says so)
        "parameters": {"ticket_id": tech_ticket, "team": "tech", "id": rule.id, "job_id": str(job.id)},
        # The two rules a schema cannot state, each refused with its documented 400: a page link
        # (`after`) is valid only as a previous page gave it; the fields a tweet needs follow
        # the `format` named in the query (a body's schema cannot depend on a query parameter).
        # Too many tweets is refused as too large (413, documented), not as malformed. Bytes
        # holding no "From " line are no mbox (400), an empty transcript is none (400): a binary
        # schema cannot say what a mailbox or a transcript is.
        "checks": {"negative_data_rejection": {"expected-statuses": [
            "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]}},
        "operations": [{"include-path": path, "checks": {"positive_data_acceptance": {
            "expected-statuses": ["2xx", "400", "401", "403", "404", "429"]}}}
            for path in ("/api/v1/queues/{team}/tickets", "/api/v1/ingest/stream", "/api/v1/ingest/mail",
                         "/api/v1/ingest/calls")],
    })
    schema = schemathesis.openapi.from_url(f"{daphne_server}/api/v1/schema?format=json", config=config,
                                           headers=headers)
    yield schema
    print(f"\n{role}: {SENT[role]} requests")


lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@lazy_schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_answer_is_one_the_schema_documents(case, request):
    role = request.node.callspec.params["api_schema"]
    SENT[role] += 1
    case.call_and_validate()
