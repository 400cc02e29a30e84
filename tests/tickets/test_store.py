"""The ticket store's one policy for a ticket MongoDB cannot write any more (past its 16 MB
document limit): a batch, the SLA watch or an ingest chunk skips it and goes on; a person's
action on it gets a clear refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import bson
import pytest
from django.utils import translation

from analysis import services as analysis_services
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets import services, sla_watch
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

MONGODB_LIMIT = 16 * 1024 * 1024


def swell(ticket_id: str) -> None:
    """Grow a ticket to 100 bytes under MongoDB's limit, as years of history could."""
    tickets = Ticket._get_collection()
    size = len(bson.encode(tickets.find_one({"_id": ticket_id})))
    blob = "x" * (MONGODB_LIMIT - size - 100 - len(b"\x02history_blob\x00") - 5)
    tickets.update_one({"_id": ticket_id}, {"$set": {"history_blob": blob}})
    assert MONGODB_LIMIT - 100 <= len(bson.encode(tickets.find_one({"_id": ticket_id}))) <= MONGODB_LIMIT


def test_one_unwritable_ticket_never_stops_the_sla_watch_an_ingest_chunk_or_an_agent(analysed, make_user):
    full, fine = analysed("internet down", "no signal at home")
    swell(full)
    past = datetime.now(UTC) - timedelta(minutes=1)
    Ticket._get_collection().update_many({"_id": {"$in": [full, fine]}}, {"$set": {"sla_due_at": past}})
    assert sla_watch.flag_breaches() == 1
    assert Ticket.objects.get(id=fine).sla_state == "breached"
    # the customer of the full ticket writes again in the same chunk as a new customer
    customer = Ticket.objects.get(id=fine).customer  # any author: the reply joins by its parent
    ingest_records(records=[twcs_record(990_101, "still down", author=customer, minute=30,
                                        reply_to=full.split(":")[1]),
                            twcs_record(990_102, "my bill is wrong")], source="twcs")
    assert Ticket.objects(id="twcs:990102").count() == 1
    with translation.override("en"), pytest.raises(services.ActionRefused, match="grown too large to be changed"):
        services.claim_ticket(ticket_id=full, user=make_user("ana", "tech"))
    # an analysis batch holding it labels the others
    Ticket._get_collection().update_one({"_id": full}, {"$set": {"needs_analysis": True}})
    run = analysis_services.analyse_tickets(ticket_ids=[full, "twcs:990102"])
    assert run.analysed == ["twcs:990102"] and Ticket.objects.get(id="twcs:990102").team == "billing"


@pytest.mark.no_servers
def test_the_analysis_record_is_built_once_and_read_back_in_the_stored_shape():
    """analysis.chain.Outcome.record is the one builder of what a ticket stores as its
    analysis: it writes every field the document holds but the two written beside it later
    (an LLM's suggestion on a held ticket, the fast labels kept when an LLM refines), and the
    store's read-back type names only stored fields."""
    from analysis.chain import Outcome
    from dallosh.vocabulary import Analysis
    from tickets.models import TicketAnalysis
    from tickets.store import AnalysisRow

    labels = Analysis(sentiment="negative", topic="network", urgency="high", team="tech", actionable=True,
                      summary="no signal")
    outcome = Outcome(analysis=labels, provider="fast", model="heads-v2", tokens_in=0, tokens_out=0, latency_ms=3,
                      attempts=1, batch_size=1, fallbacks=[])
    record = outcome.record(analysis=labels, text="no signal", now=None, confidence={}, unsure=[], refine_fields=[],
                            refine_basis={}, review_flag=None)
    stored = set(TicketAnalysis._fields)
    assert set(record) == stored - {"suggestion", "fast_labels"}
    assert set(AnalysisRow.__annotations__) <= stored
