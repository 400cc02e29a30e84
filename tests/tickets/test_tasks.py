"""The tickets tasks (tickets/tasks.py) a worker runs, called as django-q2 calls them (by
dotted name, with plain arguments): re-routing after the admin changed the rules, answering
who asked and what it did, and the minute's breach flagging. No worker process: the task
functions on the real stores; tickets ingested and analysed by the real pipeline."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.module_loading import import_string

from analysis import services as analysis_services
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets.models import RoutingRule, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def analysed_today(use_tiers, fault_server):
    """Tickets written now, ingested and analysed by the real pipeline (the scripted model):
    re-routing reads the tickets one created day at a time, and 2017's tweets would make it
    read every day since."""

    def analyse(*texts: str) -> list[str]:
        now = datetime.now(UTC)
        use_tiers(("openai", fault_server.url))
        ingest_records(records=[twcs_record(n, text, at=now) for n, text in enumerate(texts, start=1)],
                       source="twcs")
        ids = [f"twcs:{n}" for n in range(1, len(texts) + 1)]
        assert sorted(analysis_services.analyse_tickets(ticket_ids=ids).analysed) == ids
        return ids

    return analyse


def test_rerouting_answers_who_asked_and_how_many_tickets_it_read_and_moved(analysed_today):
    network, bill = analysed_today("internet down", "my bill is wrong")
    RoutingRule.objects.create(name="bills to commercial", topic="billing", route_to_team="commercial")
    reroute = import_string("tickets.tasks.reroute_open_tickets")
    assert reroute("root") == {"requested_by": "root", "scanned": 2, "changed": 1}
    assert (Ticket.objects.get(id=bill).team, Ticket.objects.get(id=network).team) == ("commercial", "tech")
    assert reroute("root") == {"requested_by": "root", "scanned": 2, "changed": 0}  # nothing left to move


def test_flagging_breaches_answers_how_many_tickets_it_flagged(analysed):
    late, on_time = analysed("no signal at home", "no signal at work")
    Ticket._get_collection().update_one({"_id": late}, {"$set": {"sla_due_at": datetime.now(UTC) - timedelta(1)}})
    assert import_string("tickets.tasks.flag_breaches")() == 1
    assert (Ticket.objects.get(id=late).sla_state, Ticket.objects.get(id=on_time).sla_state) == ("breached", "running")
