"""Agents' actions and queue reads through the real services, selectors and MongoDB-protocol
server; tickets are ingested and analysed by the real pipeline (scripted model)."""

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from tests.helpers import repeat_while
from tickets import actions, conversations, directory, selectors, services, sla_watch
from tickets.models import QueueDay, Ticket
from tickets.selectors import QueueFilters

pytestmark = pytest.mark.django_db


def queue_ids(team, username="nobody", **filters):
    page = selectors.queue_page(team=team, filters=QueueFilters(**filters), username=username)
    return [row["_id"] for row in page.rows]


def test_routed_tickets_sit_in_their_team_queue_high_urgency_first_then_oldest(analysed):
    # expected_labels: "down" → network/tech/high; "signal" → network/tech/low; "bill" → billing.
    low_old, high_new, bill = analysed("no signal at home", "internet down again", "my bill is wrong", minute=0)
    high_old = analysed("everything down since monday", minute=30)[0]
    # high_old was written later but all sit on the same day: urgency first, then age.
    assert queue_ids("tech") == [high_new, high_old, low_old]
    assert queue_ids("billing") == [bill]
    assert queue_ids("commercial") == []


def test_breached_tickets_float_above_every_urgency(analysed, settings):
    low, high = analysed("no signal at home", "internet down")
    later = datetime.now(UTC) + timedelta(hours=49)  # past low's 48 h target and high's 1 h
    Ticket._get_collection().update_one({"_id": low}, {"$set": {"sla_due_at": datetime.now(UTC) - timedelta(1)}})
    assert sla_watch.flag_breaches(now=datetime.now(UTC)) == 1
    assert queue_ids("tech") == [low, high]
    row = Ticket.objects.get(id=low)
    assert (row.sla_state, row.queue_priority) == ("breached", 4)  # low (1) + breach (3)
    assert sla_watch.flag_breaches(now=later) == 1  # high breaches too: high outranks low again
    assert queue_ids("tech") == [high, low]


def test_claim_status_resolve_with_audit_trail(analysed, make_user):
    ana = make_user("ana", "tech")
    ticket_id = analysed("internet down")[0]
    services.claim_ticket(ticket_id=ticket_id, user=ana)
    services.change_status(ticket_id=ticket_id, user=ana, status="waiting_customer")
    services.add_note(ticket_id=ticket_id, user=ana, text="asked for the box's serial number")
    services.change_status(ticket_id=ticket_id, user=ana, status="resolved")
    ticket = Ticket.objects.get(id=ticket_id)
    assert (ticket.status, ticket.assignee, ticket.sla_state) == ("resolved", "ana", "met")
    assert ticket.responded_at and ticket.resolved_at and ticket.notes[0].text.startswith("asked")
    assert [(e.by, e.action) for e in ticket.audit] == [
        ("system:analysis", "analysed"), ("ana", "claimed"), ("ana", "status_changed"), ("ana", "note_added"),
        ("ana", "status_changed")]
    assert ticket.audit[-1].details == {"status": ["waiting_customer", "resolved"]}
    assert queue_ids("tech") == []
    assert queue_ids("tech", status="resolved") == [ticket_id]
    with pytest.raises(services.ActionRefused, match="cannot become waiting customer"):
        services.change_status(ticket_id=ticket_id, user=ana, status="waiting_customer")


@pytest.mark.django_db(transaction=True)  # each thread reads the users through its own connection
def test_two_agents_claiming_at_once_one_wins_the_other_is_told(analysed, make_user):
    ana, bob = make_user("ana", "tech"), make_user("bob", "tech")
    ticket_id = analysed("internet down")[0]
    start = threading.Barrier(2)
    outcomes = {}

    def claim(user):
        start.wait()
        try:
            services.claim_ticket(ticket_id=ticket_id, user=user)
            outcomes[user.username] = "won"
        except services.AlreadyClaimed as refusal:
            outcomes[user.username] = refusal.holder

    threads = [threading.Thread(target=claim, args=(user,)) for user in (ana, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winner = Ticket.objects.get(id=ticket_id).assignee
    loser = ({"ana", "bob"} - {winner}).pop()
    assert outcomes == {winner: "won", loser: winner}
    assert [e.action for e in Ticket.objects.get(id=ticket_id).audit].count("claimed") == 1


def test_agents_act_only_on_their_teams_tickets(analysed, make_user):
    billing_agent = make_user("bea", "billing")
    ticket_id = analysed("internet down")[0]
    with pytest.raises(services.TicketNotFound):
        services.claim_ticket(ticket_id=ticket_id, user=billing_agent)
    manager = make_user("max", role="manager")
    with pytest.raises(services.ActionRefused, match="Only agents of the tech team"):
        services.claim_ticket(ticket_id=ticket_id, user=manager)
    with pytest.raises(services.ActionRefused, match="bea is not an agent of the tech team"):
        services.assign_ticket(ticket_id=ticket_id, user=manager, assignee="bea")
    make_user("tom", "tech")
    assert services.assign_ticket(ticket_id=ticket_id, user=manager, assignee="tom")["assignee"] == "tom"


def test_correction_is_kept_beside_the_models_answer_and_reorders_the_queue(analysed, make_user):
    ana = make_user("ana", "tech")
    high, low = analysed("internet down", "no signal at home")
    services.correct_labels(ticket_id=low, user=ana, sentiment="negative", topic="network", urgency="high",
                            actionable=True)
    ticket = Ticket.objects.get(id=low)
    assert (ticket.analysis.urgency, ticket.analysis.sentiment) == ("low", "neutral")  # the model's, unchanged
    assert (ticket.correction.urgency, ticket.correction.by, ticket.urgency, ticket.sentiment) == (
        "high", "ana", "high", "negative")
    assert ticket.audit[-1].details["urgency"] == ["low", "high"]
    assert queue_ids("tech") == [high, low]  # both high now: the older first
    assert queue_ids("tech", sentiment="neutral") == []
    with pytest.raises(services.ActionRefused, match="not a topic"):
        services.correct_labels(ticket_id=low, user=ana, sentiment="negative", topic="weather", urgency="high",
                                actionable=True)


def test_reroute_moves_the_ticket_unheld_to_the_other_team(analysed, make_user):
    ana = make_user("ana", "tech")
    ticket_id = analysed("internet down")[0]
    services.claim_ticket(ticket_id=ticket_id, user=ana)
    services.reroute_ticket(ticket_id=ticket_id, user=ana, team="billing", reason="about the invoice")
    ticket = Ticket.objects.get(id=ticket_id)
    assert (ticket.team, ticket.assignee, ticket.status) == ("billing", None, "new")
    assert ticket.routing_rule == "re-routed by ana"
    assert queue_ids("tech") == [] and queue_ids("billing") == [ticket_id]
    with pytest.raises(services.TicketNotFound):  # out of ana's reach now
        services.add_note(ticket_id=ticket_id, user=ana, text="x")


def test_bulk_actions_report_each_refusal(analysed, make_user):
    ana, bob = make_user("ana", "tech"), make_user("bob", "tech")
    first, second, third = analysed("internet down", "fibre down", "no signal")
    services.claim_ticket(ticket_id=second, user=bob)
    outcome = actions.run_bulk(name="claim", ticket_ids=[first, second, third, "twcs:nope"], user=ana, data={})
    assert outcome.done == [first, third]
    assert outcome.refused == {second: "Already held by bob.", "twcs:nope": "not found"}
    resolved = actions.run_bulk(name="resolve", ticket_ids=[first, third], user=ana, data={})
    assert resolved.done == [first, third]
    assert queue_ids("tech") == [second]


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


def test_rebuild_queues_gives_older_routed_tickets_their_queue_place(analysed):
    older, current = analysed("internet down", "no signal")
    # As a ticket routed before queues existed: routed, without the queue's fields.
    Ticket._get_collection().update_one({"_id": older}, {"$unset": {"queue_priority": "", "topic": "",
                                                                    "sentiment": "", "sla_state": ""}})
    QueueDay._get_collection().delete_many({})
    assert queue_ids("tech") == []
    call_command("rebuild_queues", stdout=io.StringIO())
    assert queue_ids("tech") == [older, current]
    ticket = Ticket.objects.get(id=older)
    assert (ticket.topic, ticket.sla_state, ticket.queue_priority, ticket.audit[-1].action) == (
        "network", "running", 3, "queued")


def test_a_merged_ticket_leaves_its_queue_and_the_directory(analysed):
    absorbed, survivor = analysed("internet down", "fibre down")
    conversations.merge_tickets(merges=[(absorbed, survivor)], now=datetime.now(UTC))
    assert queue_ids("tech") == [survivor]
    assert sum(d.count for d in QueueDay.objects(team="tech")) == 1
    assert selectors.backlog() == {"tech": {"new": 1}}


def test_a_customer_reply_reopens_an_answered_ticket_with_a_fresh_target(analysed, make_user):
    from ingestion.services import ingest_records

    ana = make_user("ana", "tech")
    ticket_id = analysed("internet down")[0]
    tweet = ticket_id.split(":")[1]
    services.claim_ticket(ticket_id=ticket_id, user=ana)
    services.change_status(ticket_id=ticket_id, user=ana, status="waiting_customer")
    assert queue_ids("tech", status="waiting_customer") == [ticket_id]

    def reply(tweet_id, author, inbound, to, minute):
        return {"tweet_id": tweet_id, "author_id": author, "inbound": inbound, "text": "still down",
                "created_at": f"Tue Oct 31 11:{minute:02d}:00 +0000 2017", "response_tweet_id": "",
                "in_response_to_tweet_id": to}

    ingest_records(records=[reply("777001", "FreeSupport", False, tweet, 1),
                            reply("777002", f"customer{tweet}", True, "777001", 2)], source="twcs")
    ticket = Ticket.objects.get(id=ticket_id)
    assert (ticket.status, ticket.assignee, ticket.sla_state, ticket.responded_at) == ("in_progress", "ana",
                                                                                      "running", None)
    assert ticket.sla_due_at > datetime.now(UTC) + timedelta(minutes=55)  # high: 1 h from now
    assert ticket.audit[-1].action == "customer_replied"
    assert queue_ids("tech", status="in_progress") == [ticket_id]


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


def test_a_refused_reply_leaves_no_brand_tweet_behind(analysed, make_user, monkeypatch):
    """A colleague resolves the ticket between the agent's read and write: the reply is
    refused, and no brand tweet is left to count as a response in SLA and KPIs."""
    from ingestion.models import Tweet

    ana, tom = make_user("ana", "tech"), make_user("tom", "tech")
    ticket_id = analysed("internet down")[0]
    write = services.apply_change
    raced = []

    def colleague_resolves_first(**kwargs):
        if not raced:
            raced.append(kwargs["action"])
            services.change_status(ticket_id=ticket_id, user=tom, status="resolved")
        return write(**kwargs)

    monkeypatch.setattr(services, "apply_change", colleague_resolves_first)
    with pytest.raises(services.ActionRefused, match="resolved"):
        services.record_reply(ticket_id=ticket_id, user=ana, text="Hello, could you DM us?")
    assert Tweet.objects(conversation_id=ticket_id, is_brand=True).count() == 0
    assert Ticket.objects.get(id=ticket_id).brand_reply_count in (0, None)


def test_a_recorded_reply_is_in_the_conversation(analysed, make_user):
    ana = make_user("ana", "tech")
    ticket_id = analysed("internet down")[0]
    services.record_reply(ticket_id=ticket_id, user=ana, text="Hello, could you DM us?")
    reply = brand_tweet_of(ticket_id)
    assert (reply["text"], reply["recorded_by"], reply["is_brand"]) == ("Hello, could you DM us?", "ana", True)
    assert Ticket.objects.get(id=ticket_id).status == "waiting_customer"


def brand_tweet_of(ticket_id):
    from ingestion.models import Tweet

    return Tweet._get_collection().find_one({"conversation_id": ticket_id, "is_brand": True})
