"""The queue directory (tickets/directory.py): counts, rebuilds while agents work, merges, through the real
services and MongoDB-protocol server; tickets are ingested and analysed by the real
pipeline (scripted model)."""

from datetime import UTC, datetime

import pytest

from tests.helpers import repeat_while
from tests.steps import queue_ids
from tickets import conversations, directory, selectors, services
from tickets.models import QueueDay, Ticket

pytestmark = pytest.mark.django_db


def test_queue_directory_counts_match_the_tickets(analysed, make_user):
    ana = make_user("ana", "tech")
    first, second, _ = analysed("internet down", "no signal", "my bill")
    services.claim_ticket(ticket_id=first, user=ana)
    services.reroute_ticket(ticket_id=second, user=ana, team="billing")
    counted = {(d.team, d.status, d.priority): d.count for d in QueueDay.objects if d.count}
    assert counted == {("tech", "in_progress", 3): 1, ("billing", "new", 1): 2}
    directory.rebuild_queue_directory()
    # an emptied segment keeps its document at 0: the pager relies on documents never going
    assert {(d.team, d.status, d.priority): d.count for d in QueueDay.objects if d.count} == counted


def directory_truth() -> dict:
    """The directory as it should be, counted here straight from the tickets."""
    truth: dict = {}
    for ticket in Ticket._get_collection().find({"team": {"$ne": None}, "queue_priority": {"$ne": None}}):
        key = (ticket["team"], ticket["status"], ticket["queue_priority"], ticket["created_at"].date())
        truth[key] = truth.get(key, 0) + 1
    return truth


@pytest.mark.django_db(transaction=True)  # the agent works from a thread of its own
def test_a_rebuild_while_agents_work_loses_no_ticket_and_no_change(analysed, make_user):
    """Agents claim and release tickets while the directory is rebuilt over and over: at the
    end it matches the tickets exactly (before, a rebuild deleted then re-inserted, so a
    live upsert in between broke the insert part-way and the increments meanwhile were lost)."""
    ana = make_user("ana", "tech")
    ticket_ids = analysed(*[f"internet down in street {n}" for n in range(12)])

    def agent_at_work():
        for round_ in range(6):
            for ticket_id in ticket_ids:
                (services.claim_ticket if round_ % 2 == 0 else services.release_ticket)(ticket_id=ticket_id, user=ana)

    assert repeat_while(agent_at_work, repeat=directory.rebuild_queue_directory) >= 1
    held = {(d.team, d.status, d.priority, d.day.date()): d.count for d in QueueDay.objects if d.count}
    assert held == directory_truth()
    assert sum(held.values()) == 12


def test_a_merged_ticket_leaves_its_queue_and_the_directory(analysed):
    absorbed, survivor = analysed("internet down", "fibre down")
    conversations.merge_tickets(merges=[(absorbed, survivor)], now=datetime.now(UTC))
    assert queue_ids("tech") == [survivor]
    assert sum(d.count for d in QueueDay.objects(team="tech")) == 1
    assert selectors.backlog() == {"tech": {"new": 1}}


def test_unsure_tickets_are_counted_apart_and_a_rebuild_keeps_them_so(fast_labelled, make_user):
    _sure, doubted, other = fast_labelled("no signal at home", "no signal in Paris", "no signal in Brest",
                                          doubts={"no signal in Paris": {"topic": 0.4},
                                                  "no signal in Brest": {"topic": 0.4}})
    counted = {(d.team, d.status, d.priority, bool(d.unsure)): d.count for d in QueueDay.objects if d.count}
    assert counted == {("tech", "new", 1, False): 1, ("tech", "new", 1, True): 2}
    services.correct_labels(ticket_id=doubted, user=make_user("ana", "tech"), sentiment="neutral", topic="network",
                            urgency="low", actionable=True)
    after = {(d.team, d.status, d.priority, bool(d.unsure)): d.count for d in QueueDay.objects if d.count}
    assert after == {("tech", "new", 1, False): 2, ("tech", "new", 1, True): 1}
    directory.rebuild_queue_directory()
    assert {(d.team, d.status, d.priority, bool(d.unsure)): d.count for d in QueueDay.objects if d.count} == after
    assert queue_ids("tech", unsure=True) == [other] and selectors.unsure_open(team="tech") == 1
