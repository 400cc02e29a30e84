"""Queue pages (tickets/queue_pages.py): order, filters, paging, search budget, through the real
services and MongoDB-protocol server; tickets are ingested and analysed by the real
pipeline (scripted model)."""

from datetime import UTC, datetime

import pytest

from analysis import services as analysis_services
from ingestion.services import ingest_mails
from tests.helpers import email_bytes
from tests.steps import queue_ids
from tickets import queue_pages, selectors, services
from tickets.models import QueueDay, Ticket
from tickets.queue_pages import QueueFilters

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


def test_the_channel_filter_keeps_one_channel_and_rows_say_which(analysed, client, make_user):
    tweet = analysed("internet down at home")[0]
    ingest_mails(messages=[email_bytes(subject="Panne", body="Internet down since this morning, no signal at all.")])
    (mail,) = Ticket.objects(channel="email").scalar("id")
    analysis_services.analyse_tickets(ticket_ids=[mail])
    assert set(queue_ids("tech")) == {tweet, mail}
    assert queue_ids("tech", channel="email") == [mail]
    assert queue_ids("tech", channel="twitter") == [tweet]  # tickets from before e-mail count as tweets
    assert queue_ids("tech", channel="call") == []
    client.force_login(make_user("ana", "tech"))
    page = client.get("/queues/tech/?channel=email").content.decode()
    assert "camille.durand@example.fr" in page and "@camille" not in page and 'value="email" selected' in page
    french = client.get("/queues/tech/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "tous les canaux" in french and ">E-mail<" in french and ">Twitter<" in french


def test_pages_follow_each_other_without_gaps_or_repeats(analysed, settings):
    settings.DALLOSH_QUEUE = settings.DALLOSH_QUEUE.replace(page_size=4)
    ids = analysed(*[f"internet down {n}" for n in range(5)], *[f"no signal {n}" for n in range(6)])
    expected = ids[:5] + ids[5:]  # high first, each oldest first
    seen, cursor = [], ""
    while True:
        page = queue_pages.queue_page(team="tech", filters=QueueFilters(), username="x", cursor=cursor)
        seen += [row["_id"] for row in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected


def test_a_selective_search_stops_at_its_budget_and_searches_further_on(analysed, settings):
    settings.DALLOSH_QUEUE = settings.DALLOSH_QUEUE.replace(scan_budget_ms=0, window_max=2)
    ids = analysed(*[f"internet down {n}" for n in range(5)], "internet down in Quimper")
    first = queue_pages.queue_page(team="tech", filters=QueueFilters(search="quimper"), username="x")
    assert first.rows == [] and first.searched_until and first.next_cursor  # stopped after one read
    found, cursor, pages = [], first.next_cursor, 1
    while cursor:
        page = queue_pages.queue_page(team="tech", filters=QueueFilters(search="quimper"), username="x", cursor=cursor)
        found += [row["_id"] for row in page.rows]
        cursor, pages = page.next_cursor, pages + 1
    assert found == [ids[-1]] and pages > 2


def test_the_unsure_view_lists_the_tickets_the_machine_doubts_most_urgent_first(fast_labelled, make_user):
    # expected_labels: "down" → network/tech/high; "signal" → network/tech/low.
    sure, low_doubt, high_doubt, other_low = fast_labelled(
        "internet down at home", "no signal in Paris", "fibre down in Lyon", "no signal in Brest",
        doubts={"no signal in Paris": {"topic": 0.41}, "fibre down in Lyon": {"urgency": 0.55, "team": 0.6},
                "no signal in Brest": {"sentiment": 0.7}})
    assert queue_ids("tech", unsure=True) == [high_doubt, low_doubt, other_low]  # the queue's own order
    assert queue_ids("tech") == [sure, high_doubt, low_doubt, other_low]  # the other views are unchanged
    assert selectors.unsure_open(team="tech") == 3 and selectors.unsure_open(team="billing") == 0
    ana = make_user("ana", "tech")
    services.claim_ticket(ticket_id=low_doubt, user=ana)
    assert queue_ids("tech", username="ana", holder="me", unsure=True) == [low_doubt]
    assert queue_ids("tech", unsure=True, status="new") == [high_doubt, other_low]
    # A person's answer settles the doubt, even one that keeps the labels as they were.
    services.correct_labels(ticket_id=high_doubt, user=ana, sentiment="negative", topic="network", urgency="high",
                            actionable=True)
    assert queue_ids("tech", unsure=True) == [low_doubt, other_low]
    assert selectors.unsure_open(team="tech") == 2
    assert queue_pages.queue_row(ticket_id=high_doubt, team="tech", filters=QueueFilters(unsure=True),
                               username="ana") is None  # the live row check: it leaves the view
    assert queue_ids("tech") == [sure, high_doubt, low_doubt, other_low]


def test_the_unsure_view_pages_through_its_own_index_and_directory_days(fast_labelled, settings):
    settings.DALLOSH_QUEUE = settings.DALLOSH_QUEUE.replace(page_size=2)
    texts = [f"no signal in street {n}" for n in range(7)]
    doubted = texts[1::2]  # every other one: 3 of 7
    ids = dict(zip(texts, fast_labelled(*texts, doubts={text: {"topic": 0.5} for text in doubted}), strict=True))
    seen, cursor, pages = [], "", 0
    while True:
        page = queue_pages.queue_page(team="tech", filters=QueueFilters(unsure=True), username="x", cursor=cursor)
        seen += [row["_id"] for row in page.rows]
        pages += 1
        assert page.examined <= len(doubted)  # unsure tickets alone were read, never a sure one
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [ids[text] for text in doubted] and pages == 2
    plan = repr(Ticket._get_collection().find(
        {"team": "tech", "unsure": True, "status": "new", "queue_priority": 1,
         "created_at": {"$gte": datetime(2017, 10, 31, tzinfo=UTC)}}).explain()["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in plan and "team_1_unsure_1_status_1_queue_priority_1_created_at_1" in plan
    counted = repr(QueueDay._get_collection().find(
        {"team": "tech", "status": {"$in": ["new", "in_progress"]}}).explain()["queryPlanner"]["winningPlan"])
    assert "IXSCAN" in counted  # unsure_open reads the team's directory days on their index
