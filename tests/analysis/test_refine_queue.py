"""The refinement queue leaves no unsure ticket behind: not when a ticket is made due while
a reader moves the cursor past its window, not when the writer dies before noting it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis import refine_queue, services, work
from tickets import store
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

DOUBT = {"topic": 0.4}


def refined_away(fast_labelled, *, minute: int) -> str:
    """A ticket made due (the cursor moves back to it), then refined: nothing is due after it."""
    [ticket_id] = fast_labelled("no signal in Paris", doubts={"no signal in Paris": DOUBT}, minute=minute)
    assert [t["_id"] for t in refine_queue.due(limit=10, now=datetime.now(UTC))] == [ticket_id]
    assert services.analyse_tickets(ticket_ids=[ticket_id]).analysed == [ticket_id]
    assert not Ticket.objects.get(id=ticket_id).needs_refinement
    return ticket_id


def test_a_ticket_made_due_while_its_window_is_read_empty_is_not_skipped(fast_labelled, monkeypatch):
    """Reader: "nothing due in this window" (exists), then moves the cursor past it. A ticket
    of that window made due between the two steps must still be read next time."""
    refined_away(fast_labelled, minute=1)  # the cursor rests at 10:01, nothing due after it
    made_due = []
    real_exists = store.exists

    def exists_then_a_writer_makes_one_due(where):
        found = real_exists(where)
        if not made_due:  # another process's write lands between the check and the move
            made_due.extend(fast_labelled("no signal in Lyon", doubts={"no signal in Lyon": DOUBT}, minute=5))
        return found

    with monkeypatch.context() as patched:
        patched.setattr(store, "exists", exists_then_a_writer_makes_one_due)
        refine_queue.due(limit=10, now=datetime.now(UTC))
    assert made_due and Ticket.objects.get(id=made_due[0]).needs_refinement
    assert [t["_id"] for t in refine_queue.due(limit=10, now=datetime.now(UTC))] == made_due


def test_a_ticket_whose_writer_died_before_noting_it_is_noted_by_the_sweeper(fast_labelled, monkeypatch, broker):
    refined_away(fast_labelled, minute=9)  # the cursor rests at 10:09
    with monkeypatch.context() as patched:
        patched.setattr(refine_queue, "note_due", lambda tickets: None)  # the writer dies after its write
        [orphan] = fast_labelled("no signal in Lille", doubts={"no signal in Lille": DOUBT}, minute=4)
    ticket = Ticket.objects.get(id=orphan)
    assert ticket.needs_refinement and ticket.refine_unnoted
    assert refine_queue.due(limit=10, now=datetime.now(UTC)) == []  # behind the cursor: lost, but for the mark

    assert work.enqueue_refinement() == 1  # the sweeper's turn
    ticket.reload()
    assert ticket.refine_unnoted is None and ticket.refine_queued_until > datetime.now(UTC)


def test_noting_clears_the_mark_of_its_own_write_only(fast_labelled):
    [ticket_id] = fast_labelled("no signal in Nice", doubts={"no signal in Nice": DOUBT})
    ticket = Ticket.objects.get(id=ticket_id)
    assert ticket.needs_refinement and ticket.refine_unnoted is None  # noted by the write's own process
    later = {"_id": ticket_id, "needs_refinement": True, "refine_rank": ticket.refine_rank,
             "created_at": ticket.created_at, "refine_unnoted": "a-later-write"}
    store.set_fields([ticket_id], {"refine_unnoted": "a-later-write"})
    refine_queue.note_due([{**later, "refine_unnoted": "an-earlier-write"}])
    assert Ticket.objects.get(id=ticket_id).refine_unnoted == "a-later-write"
    refine_queue.note_due([later])
    assert Ticket.objects.get(id=ticket_id).refine_unnoted is None
