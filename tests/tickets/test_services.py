"""Agents' actions (tickets/services.py, tickets/actions.py), through the real
services and MongoDB-protocol server; tickets are ingested and analysed by the real
pipeline (scripted model)."""

import threading

import pytest
from django.test import Client

from tests.steps import all_at_once, queue_ids
from tickets import actions, selectors, services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


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
    with pytest.raises(services.ActionRefused, match=r"^This ticket is resolved; it can become: in progress\.$"):
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

    all_at_once(claim, (ana, bob))
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


def test_a_withdrawn_correction_gives_back_the_models_labels_and_stays_for_audit(analysed, make_user):
    from tickets.templatetags.tickets_extras import audit_line

    ana = make_user("ana", "tech")
    high, low = analysed("internet down", "no signal at home")
    routed = Ticket.objects.get(id=low)
    services.correct_labels(ticket_id=low, user=ana, sentiment="negative", topic="billing", urgency="high",
                            actionable=False)
    withdrawn = services.withdraw_correction(ticket_id=low, user=ana)
    assert withdrawn["correction"] is None
    ticket = Ticket.objects.get(id=low)
    assert ticket.correction is None
    assert (ticket.sentiment, ticket.topic, ticket.urgency, ticket.team) == ("neutral", "network", "low", "tech")
    assert (ticket.sla_due_at, ticket.queue_priority) == (routed.sla_due_at, routed.queue_priority)  # low's target
    [kept] = ticket.withdrawn_corrections
    assert (kept.by, kept.sentiment, kept.topic, kept.urgency, kept.actionable, kept.withdrawn_by) == (
        "ana", "negative", "billing", "high", False, "ana")
    assert kept.at < kept.withdrawn_at
    entry = ticket.audit[-1]
    assert (entry.by, entry.action, entry.details["urgency"], entry.details["corrected_by"]) == (
        "ana", "correction_withdrawn", ["high", "low"], "ana")
    assert audit_line(entry.to_mongo().to_dict()) == (
        "ana withdrew ana's correction: the model's labels stand again "
        "(sentiment: negative → neutral; topic: billing → network; actionable: no → yes; urgency: high → low)")
    assert queue_ids("tech", sentiment="neutral") == [low] and queue_ids("tech") == [high, low]
    with pytest.raises(services.ActionRefused, match="there is no correction to withdraw"):
        services.withdraw_correction(ticket_id=low, user=ana)
    services.correct_labels(ticket_id=low, user=ana, sentiment="negative", topic="network", urgency="medium",
                            actionable=True)  # correcting again after a withdrawal: a correction like any
    assert Ticket.objects.get(id=low).correction.urgency == "medium"


def test_only_its_author_or_a_manager_withdraws_a_correction(analysed, make_user):
    ana, tom, bea = make_user("ana", "tech"), make_user("tom", "tech"), make_user("bea", "billing")
    boss, root = make_user("max", role="manager"), make_user("root", role="admin")
    first, second = analysed("no signal at home", "no signal at work")
    for ticket_id in (first, second):
        services.correct_labels(ticket_id=ticket_id, user=ana, sentiment="negative", topic="network",
                                urgency="high", actionable=True)
    ticket = selectors.ticket_for(ticket_id=first)  # as the ticket page reads it, to offer its buttons
    assert {user.username: "withdraw_correction" in actions.offered(ticket=ticket, user=user)
            for user in (ana, tom, bea, boss, root)} == {"ana": True, "tom": False, "bea": False, "max": True,
                                                         "root": True}
    with pytest.raises(services.ActionForbidden,
                       match=r"^Only ana, who made the correction, or a manager can withdraw it\.$"):
        services.withdraw_correction(ticket_id=first, user=tom)
    with pytest.raises(services.TicketNotFound):  # another team's ticket: not even seen
        services.withdraw_correction(ticket_id=first, user=bea)
    assert Ticket.objects.get(id=first).correction.by == "ana"  # the refusals changed nothing
    services.withdraw_correction(ticket_id=first, user=boss)
    actions.run(name="withdraw_correction", ticket_id=second, user=root, data={})
    assert [(t.correction, t.withdrawn_corrections[0].withdrawn_by) for t in Ticket.objects(id__in=[first, second])
            .order_by("id")] == [(None, "max"), (None, "root")]


def test_withdrawing_gives_back_the_urgency_routing_gave_not_only_the_models(analysed, make_user):
    """A rule made the ticket urgent although the model said low: withdrawing an agent's
    "low" gives it back its rule's urgency, as if it had never been corrected."""
    from tickets.models import RoutingRule

    RoutingRule.objects.create(name="press", keywords="journalist", set_urgency="high")
    ana = make_user("ana", "tech")
    ticket_id = analysed("no signal at home, I am a journalist")[0]
    routed = Ticket.objects.get(id=ticket_id)
    assert (routed.analysis.urgency, routed.urgency, routed.routing_rule) == ("low", "high", "press")
    services.correct_labels(ticket_id=ticket_id, user=ana, sentiment="negative", topic="network", urgency="low",
                            actionable=True)
    assert Ticket.objects.get(id=ticket_id).urgency == "low"
    services.withdraw_correction(ticket_id=ticket_id, user=ana)
    ticket = Ticket.objects.get(id=ticket_id)
    assert (ticket.urgency, ticket.sla_due_at, ticket.queue_priority) == ("high", routed.sla_due_at,
                                                                          routed.queue_priority)


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


def test_notes_are_bounded_per_ticket_and_per_person_and_minute(analysed, make_user, client):
    """200 notes a ticket, 10 a minute a person (the README's bounds): past them, a clear
    refusal, and the ticket stays writable."""
    import time
    from datetime import UTC, datetime

    if datetime.now(UTC).second >= 50:  # the ten notes below fall in one minute's window
        time.sleep(61 - datetime.now(UTC).second)
    ana, bea = make_user("ana", "tech"), make_user("bea", "tech")
    ticket_id = analysed("internet down")[0]
    earlier = [{"by": "tom", "at": datetime.now(UTC), "text": f"note {n}"} for n in range(199)]
    Ticket._get_collection().update_one({"_id": ticket_id}, {"$push": {"notes": {"$each": earlier}},
                                                             "$set": {"note_count": 199}})
    services.add_note(ticket_id=ticket_id, user=ana, text="the 200th")
    client.force_login(ana)
    answer = client.post(f"/tickets/{ticket_id}/note/", {"text": "the 201st"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 409
    assert answer.json()["error"] == "This ticket already holds 200 notes, the most one ticket may hold."
    assert len(Ticket.objects.get(id=ticket_id).notes) == 200
    services.claim_ticket(ticket_id=ticket_id, user=ana)  # still writable
    other = analysed("no signal at home")[0]
    for n in range(10):
        services.add_note(ticket_id=other, user=bea, text=f"step {n}")
    client.force_login(bea)
    answer = client.post(f"/tickets/{other}/note/", {"text": "one more"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 429
    assert answer.json()["error"] == "You added 10 notes within a minute; wait a moment, then try again."
    assert len(Ticket.objects.get(id=other).notes) == 10


def test_recording_a_reply_adds_a_brand_tweet_and_stops_the_sla_clock(analysed, make_user):
    from ingestion.models import Tweet
    from tickets.models import Ticket

    ticket_id = analysed("internet down since noon")[0]
    client = Client()
    client.force_login(make_user("ana", "tech"))
    too_long = client.post(f"/tickets/{ticket_id}/reply/", {"text": "x" * 281}, HTTP_ACCEPT="application/json")
    assert too_long.status_code == 409 and "281 characters" in too_long.json()["error"]
    client.post(f"/tickets/{ticket_id}/reply/", {"text": "Sorry! Please DM us your account number."})
    ticket = Ticket.objects.get(id=ticket_id)
    assert ticket.status == "waiting_customer" and ticket.brand_reply_count == 1 and ticket.responded_at
    reply = Tweet.objects.get(id=ticket.tweet_ids[-1])
    assert reply.is_brand and reply.recorded_by == "ana" and reply.text == "Sorry! Please DM us your account number."
    assert "Sorry! Please DM us your account number." in client.get(f"/tickets/{ticket_id}/").content.decode()
