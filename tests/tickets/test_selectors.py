"""Queue reads (tickets/selectors.py): order, filters, paging, search budget, through the real
services and MongoDB-protocol server; tickets are ingested and analysed by the real
pipeline (scripted model)."""


import pytest

from tests.steps import queue_ids
from tickets import selectors, services
from tickets.selectors import QueueFilters

pytestmark = pytest.mark.django_db


def test_routed_tickets_sit_in_their_team_queue_high_urgency_first_then_oldest(analysed):
    # expected_labels: "down" → network/tech/high; "signal" → network/tech/low; "bill" → billing.
    low_old, high_new, bill = analysed("no signal at home", "internet down again", "my bill is wrong", minute=0)
    high_old = analysed("everything down since monday", minute=30)[0]
    # high_old was written later but all sit on the same day: urgency first, then age.
    assert queue_ids("tech") == [high_new, high_old, low_old]
    assert queue_ids("billing") == [bill]
    assert queue_ids("commercial") == []


def test_filters_and_holder_views(analysed, make_user):
    ana = make_user("ana", "tech")
    mine, other, fr = analysed("internet down at home", "no signal in Paris", "panne de fibre à Lyon")
    services.claim_ticket(ticket_id=mine, user=ana)
    assert queue_ids("tech", username="ana", holder="me") == [mine]
    assert set(queue_ids("tech", username="ana", holder="unassigned")) == {other, fr}
    assert queue_ids("tech", language="fr") == [fr]
    assert queue_ids("tech", search="PARIS") == [other]
    assert queue_ids("tech", status="in_progress") == [mine]


def test_pages_follow_each_other_without_gaps_or_repeats(analysed, settings):
    settings.DALLOSH_QUEUE = {**settings.DALLOSH_QUEUE, "PAGE_SIZE": 4}
    ids = analysed(*[f"internet down {n}" for n in range(5)], *[f"no signal {n}" for n in range(6)])
    expected = ids[:5] + ids[5:]  # high first, each oldest first
    seen, cursor = [], ""
    while True:
        page = selectors.queue_page(team="tech", filters=QueueFilters(), username="x", cursor=cursor)
        seen += [row["_id"] for row in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected


def test_a_selective_search_stops_at_its_budget_and_searches_further_on(analysed, settings):
    settings.DALLOSH_QUEUE = {**settings.DALLOSH_QUEUE, "SCAN_BUDGET_MS": 0, "WINDOW_MAX": 2}
    ids = analysed(*[f"internet down {n}" for n in range(5)], "internet down in Quimper")
    first = selectors.queue_page(team="tech", filters=QueueFilters(search="quimper"), username="x")
    assert first.rows == [] and first.searched_until and first.next_cursor  # stopped after one read
    found, cursor, pages = [], first.next_cursor, 1
    while cursor:
        page = selectors.queue_page(team="tech", filters=QueueFilters(search="quimper"), username="x", cursor=cursor)
        found += [row["_id"] for row in page.rows]
        cursor, pages = page.next_cursor, pages + 1
    assert found == [ids[-1]] and pages > 2
