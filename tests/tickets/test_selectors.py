"""Ticket reads (tickets/selectors.py): a ticket not the reader's to see reads exactly as one
that does not exist; a conversation comes in the order it was written, brand replies
included; who a ticket may be given to; the counts the queue pages show (held by me, unsure,
breached, awaiting analysis, capped); the corrections in force for learning, never a
withdrawn one; and a rule's preview over the recent tickets. Tickets are ingested and
analysed by the real pipeline (scripted model) on the MongoDB-protocol server."""

from datetime import UTC, datetime, timedelta

import pytest

from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets import selectors, services, sla_watch
from tickets.errors import TicketNotFound
from tickets.models import RoutingRule, Ticket

pytestmark = pytest.mark.django_db


def test_another_teams_ticket_reads_exactly_as_a_missing_one(analysed, make_user):
    ticket_id = analysed("internet down")[0]  # the tech team's
    bea = make_user("bea", "billing")
    with pytest.raises(TicketNotFound) as other_team:
        selectors.visible_ticket(user=bea, ticket_id=ticket_id)
    with pytest.raises(TicketNotFound) as missing:
        selectors.visible_ticket(user=bea, ticket_id="twcs:404")
    assert str(other_team.value) == str(missing.value) == "No such ticket in your queues."
    assert selectors.ticket_visible_to(user=bea, ticket_id=ticket_id) is None
    assert selectors.visible_ticket(user=make_user("ana", "tech"), ticket_id=ticket_id)["_id"] == ticket_id
    assert selectors.visible_ticket(user=make_user("max", role="manager"), ticket_id=ticket_id)["_id"] == ticket_id


def test_a_conversation_comes_in_the_order_written_with_the_brands_replies(use_tiers, fault_server):
    ingest_records(records=[
        twcs_record(3, "still nothing https://t.co/x", author="lucie", minute=20, reply_to="2"),
        twcs_record(1, "@FreeSupport my box is dead", author="lucie", minute=0),
        twcs_record(2, "@lucie we are on it", author="FreeSupport", minute=10, reply_to="1", inbound=False),
    ], source="twcs")
    ticket = Ticket.objects.get()
    tweets = selectors.conversation(ticket=selectors.ticket_for(ticket_id=ticket.id))
    assert [(t["_id"], t["is_brand"]) for t in tweets] == [("twcs:1", False), ("twcs:2", True), ("twcs:3", False)]
    assert (tweets[2]["text"], tweets[2]["clean_text"]) == ("still nothing https://t.co/x", "still nothing")


def test_a_ticket_may_be_given_to_the_active_agents_of_its_team_only(make_user):
    make_user("zoe", "tech")
    make_user("ana", "tech")
    make_user("bea", "billing")
    make_user("max", "tech", role="manager")  # a manager of the team, no agent
    gone = make_user("old", "tech")
    gone.is_active = False
    gone.save()
    assert selectors.team_agents(team="tech") == ["ana", "zoe"]


def test_the_queue_counts_held_unsure_breached_and_awaiting(analysed, fast_labelled, make_user):
    ana = make_user("ana", "tech")
    mine, late = analysed("internet down", "no signal at home")
    fast_labelled("no signal in Paris", "fibre down in Lyon", doubts={"no signal in Paris": {"topic": 0.41}})
    services.claim_ticket(ticket_id=mine, user=ana)
    Ticket._get_collection().update_one({"_id": late}, {"$set": {"sla_due_at": datetime.now(UTC) - timedelta(1)}})
    sla_watch.flag_breaches(now=datetime.now(UTC))
    ingest_records(records=[twcs_record(n, "still waiting") for n in (81, 82, 83)], source="twcs")
    assert (selectors.held_by(username="ana", team="tech"), selectors.held_by(username="ana", team="billing")) == (1, 0)
    assert (selectors.unsure_open(team="tech"), selectors.unsure_open(team="billing")) == (1, 0)
    assert (selectors.breached_open(team="tech"), selectors.breached_open()) == (1, 1)
    assert (selectors.awaiting_analysis(), selectors.awaiting_analysis(cap=2)) == (3, 2)
    assert selectors.backlog()["tech"]["new"] == 3 and selectors.backlog()["tech"]["in_progress"] == 1


def test_learning_reads_the_corrections_in_force_in_their_range_never_a_withdrawn_one(analysed, make_user):
    ana = make_user("ana", "tech")
    kept, withdrawn = analysed("no signal at home", "no signal at work")
    before = datetime.now(UTC) - timedelta(seconds=1)
    for ticket_id in (kept, withdrawn):
        services.correct_labels(ticket_id=ticket_id, user=ana, sentiment="negative", topic="network",
                                urgency="high", actionable=True)
    services.withdraw_correction(ticket_id=withdrawn, user=ana)
    assert [t["_id"] for t in selectors.corrected_tickets(since=before)] == [kept]
    assert list(selectors.corrected_tickets(since=before, until=before + timedelta(milliseconds=1))) == []


def test_a_rules_preview_counts_its_matches_among_the_recent_tickets_and_shows_a_few(analysed):
    analysed("my bill is wrong")  # analysed first: not among the 3 last
    analysed("refund my bill", "internet down", "bill too high")
    rule = RoutingRule(name="bills", keywords="bill", route_to_team="commercial")  # not saved: previewed
    preview = selectors.rule_preview(rule=rule, recent=3, examples=1)
    assert (preview.scanned, preview.matched, len(preview.examples)) == (3, 2, 1)
    [example] = preview.examples
    assert (example["topic"], example["team"]) == ("billing", "billing")  # where it sits before the rule
