"""Handing analysis work out and taking it (analysis/work.py): tickets are handed to the
clusters a few tasks at a time while the broker has room, taken with a claim and a lease a
live worker renews, handed out again once a dead worker's lease runs out, and what a worker
could not write is given back by its claim's holder only."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django_q.brokers import get_broker
from django_q.conf import Conf

from analysis import services, work
from analysis.chain import ChainResult
from config.embedded import free_port
from dallosh.mongo import as_utc
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets.models import EPOCH, Ticket, TicketStatus

pytestmark = pytest.mark.django_db

TEXTS = ("my fibre is down since monday", "where is my bill for march? charged twice", "thanks, I love the new plan",
         "is the 5G offer open to existing customers")


@pytest.fixture
def tickets_awaiting():
    ingest_records(records=[twcs_record(n, text) for n, text in enumerate(TEXTS, 1)], source="twcs")
    return [f"twcs:{n}" for n in range(1, len(TEXTS) + 1)]


def test_a_dead_workers_tickets_are_handed_out_again_after_its_lease(use_tiers, fault_server, tickets_awaiting,
                                                                     monkeypatch, settings):
    enqueued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kw: enqueued.append(args))
    use_tiers(("openai", fault_server.url))
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(task_tickets=10)
    assert work.enqueue_pending() == 4 and enqueued == [(work.ANALYSE_TASK, tickets_awaiting)]
    assert work.enqueue_pending() == 0, "queued tickets are not queued twice"
    claim, held = work.claim_tickets(ticket_ids=tickets_awaiting)  # then the worker is killed
    assert len(held) == 4
    assert work.claim_tickets(ticket_ids=tickets_awaiting)[1] == [], "a live lease is respected"
    later = datetime.now(UTC) + timedelta(seconds=settings.DALLOSH_ANALYSIS.lease_s + 1)
    assert work.enqueue_pending(now=later) == 4
    run = services.analyse_tickets(ticket_ids=tickets_awaiting)
    assert run.skipped == 4, "the lease has not run out in real time yet"
    Ticket._get_collection().update_many({}, {"$set": {"analysis_lease_until": EPOCH}})
    assert len(services.analyse_tickets(ticket_ids=tickets_awaiting).analysed) == 4
    assert Ticket.objects(analysis_claim=claim).count() == 0


def test_tickets_are_handed_out_only_while_the_broker_has_room(use_tiers, fault_server, tickets_awaiting, broker,
                                                              settings):
    use_tiers(("openai", fault_server.url))  # the fast tier off: the refinement cluster labels
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(task_tickets=3, max_waiting_tasks=2)
    queue = get_broker(work.REFINE_CLUSTER)
    queue.purge_queue()
    try:
        assert work.enqueue_pending() == 4 and queue.queue_size() == 2, "3 tickets, then 1"
        ingest_records(records=[twcs_record(10, "no signal in Lyon")], source="twcs")
        assert work.enqueue_pending() == 0 and work.waiting_tasks(work.REFINE_CLUSTER) == 2
        assert Ticket.objects.get(id="twcs:10").needs_analysis, "it waits in MongoDB"
    finally:
        queue.purge_queue()


def test_a_broker_that_is_down_never_stops_ingestion(tickets_awaiting, settings, monkeypatch):
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(auto_enqueue=True)
    work.enqueue_after_ingest()
    assert Ticket.objects(needs_analysis=True).count() == 4, "still marked: the sweeper queues them later"


def test_a_claim_takes_only_tickets_still_waiting_and_not_merged(use_tiers, fault_server, tickets_awaiting):
    use_tiers(("openai", fault_server.url))
    done, merged, waiting, _ = tickets_awaiting
    Ticket.objects(id=done).update(set__needs_analysis=False)
    Ticket.objects(id=merged).update(set__status=TicketStatus.MERGED)
    _, held = work.claim_tickets(ticket_ids=[done, merged, waiting])
    assert [t["_id"] for t in held] == [waiting]
    Ticket.objects(id=done).update(set__needs_refinement=True)
    _, refining = work.claim_tickets(ticket_ids=[done], refine=True)
    assert [t["_id"] for t in refining] == [done], "a refinement claim takes the unsure ones too"


def test_a_live_worker_keeps_its_lease_while_the_tiers_are_slow(use_tiers, fault_server, tickets_awaiting,
                                                                settings):
    use_tiers(("openai", fault_server.url))
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(lease_s=0.6)
    claim, _ = work.claim_tickets(ticket_ids=tickets_awaiting[:1])
    first = as_utc(Ticket.objects.get(id=tickets_awaiting[0]).analysis_lease_until)
    with work.renewing(claim):
        time.sleep(0.9)  # longer than the lease: renewed every 0.2 s
        renewed = as_utc(Ticket.objects.get(id=tickets_awaiting[0]).analysis_lease_until)
        assert renewed > datetime.now(UTC) and renewed > first
        assert work.claim_tickets(ticket_ids=tickets_awaiting[:1])[1] == [], "no other worker takes it"


def test_a_worker_that_lost_its_claim_gives_back_nothing_and_a_failing_ticket_waits_six_hours_at_most(
        use_tiers, fault_server, tickets_awaiting, settings):
    """(The re-queue and the doubling wait, end to end: tests/analysis/test_services.py.)"""
    use_tiers(("openai", fault_server.url))
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(retry_after_s=60)
    requeued, failed = tickets_awaiting[:2]
    Ticket.objects(id=failed).update(set__analysis_failures=12)  # 60 s × 2¹² is past six hours
    claim, held = work.claim_tickets(ticket_ids=[requeued, failed])
    result = ChainResult(requeued={requeued: "missing from the batch answer"}, failed={failed: ["openai: timeout"]})
    work.release(result, {t["_id"]: t for t in held}, "a-claim-that-ran-out")
    assert Ticket.objects(analysis_claim=claim).count() == 2, "another worker's tickets are left alone"
    assert work.release(result, {t["_id"]: t for t in held}, claim) == ([requeued], [failed])
    given_back = Ticket._get_collection().find_one({"_id": failed})
    assert given_back["analysis_claim"] is None and given_back["analysis_failures"] == 13
    waits = as_utc(given_back["analysis_queued_until"]) - datetime.now(UTC)
    assert timedelta(hours=6) - timedelta(seconds=5) < waits <= timedelta(hours=6)
