"""Tickets derived from conversations (tickets/conversations.py), through the real
services and MongoDB-protocol server; tickets are ingested and analysed by the real
pipeline (scripted model)."""

from datetime import UTC, datetime, timedelta

import pytest

from analysis import services as analysis_services
from ingestion.models import Tweet
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tests.steps import queue_ids
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_customer_reply_reopens_an_answered_ticket_with_a_fresh_target(analysed, make_user):
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


def brand_reply(tweet_id, to, minute):
    return twcs_record(tweet_id, "@customer we are on it, DM us", author="FreeSupport", inbound=False, minute=minute,
                       reply_to=to)


def test_a_conversation_the_brand_answered_last_waits_on_the_customer(use_tiers, fault_server):
    ingest_records(records=[twcs_record(5001, "internet down since this morning", minute=0),
                            brand_reply(5002, "5001", minute=20)], source="twcs")
    ticket = Ticket.objects.get(id="twcs:5001")
    assert (ticket.status, ticket.responded_at.minute) == ("waiting_customer", 20)
    use_tiers(("openai", fault_server.url))
    analysis_services.analyse_tickets(ticket_ids=["twcs:5001"])
    ticket.reload()
    # answered 20 minutes after the customer wrote, within any target: met, not running or breached
    assert (ticket.status, ticket.sla_state) == ("waiting_customer", "met")
    assert queue_ids("tech", status="waiting_customer") == ["twcs:5001"] and queue_ids("tech", status="new") == []


def test_a_brand_reply_arriving_later_moves_an_open_ticket_to_waiting_on_the_customer(analysed):
    """As the conversation implies, with no audit entry of its own (the tweets are the
    record): the history is the same whether the feed brought the reply later or at once."""
    ticket_id = analysed("internet down")[0]
    ingest_records(records=[brand_reply(6002, ticket_id.split(":")[1], minute=40)], source="twcs")
    ticket = Ticket.objects.get(id=ticket_id)
    assert (ticket.status, ticket.sla_state, ticket.audit[-1].action) == ("waiting_customer", "met", "analysed")
    # and the customer writing again reopens it
    ingest_records(records=[twcs_record(6003, "still down", author=ticket.customer, minute=50, reply_to="6002")],
                   source="twcs")
    ticket.reload()
    assert (ticket.status, ticket.audit[-1].action) == ("new", "analysed")


def test_the_feed_moving_a_ticket_a_person_set_is_audited(analysed, make_user):
    ana = make_user("ana", "tech")
    ticket_id = analysed("internet down")[0]
    services.claim_ticket(ticket_id=ticket_id, user=ana)
    ingest_records(records=[brand_reply(6102, ticket_id.split(":")[1], minute=40)], source="twcs")
    ticket = Ticket.objects.get(id=ticket_id)
    assert (ticket.status, ticket.audit[-1].action, ticket.audit[-1].by) == (
        "waiting_customer", "brand_replied", "system:ingestion")


def test_text_is_shown_as_written_and_titles_come_from_the_cleaned_text():
    raw = "@FreeSupport AT&amp;T &gt; Free? no: my box is down https://t.co/x1"
    ingest_records(records=[twcs_record(7001, raw)], source="twcs")
    tweet = Tweet.objects.get(id="twcs:7001")
    assert tweet.text == raw  # kept for audit
    assert tweet.display_text == "@FreeSupport AT&T > Free? no: my box is down https://t.co/x1"
    assert Ticket.objects.get(id="twcs:7001").subject == "AT&T > Free? no: my box is down"


def test_tweets_sent_again_in_another_batch_leave_a_resolved_ticket_as_it_was(analysed, make_user):
    """A stream client re-sends a tweet, an export overlaps the last one, a chunk is
    replayed: the tweet's resolved ticket is not reopened, re-queued or audited again."""
    ana = make_user("ana", "tech")
    [ticket_id] = analysed("internet down since noon")
    tweet = Tweet.objects.get(id=ticket_id)
    services.claim_ticket(ticket_id=ticket_id, user=ana)
    services.change_status(ticket_id=ticket_id, user=ana, status="resolved")
    before = Ticket.objects.get(id=ticket_id)
    again = twcs_record(ticket_id.split(":")[1], tweet.text, author=tweet.author)
    again["created_at"] = tweet.created_at.strftime("%a %b %d %H:%M:%S +0000 %Y")
    ingest_records(records=[again, twcs_record(990_001, "my bill is wrong")], source="twcs")
    after = Ticket.objects.get(id=ticket_id)
    assert (after.status, after.assignee, after.needs_analysis) == ("resolved", "ana", False)
    assert (after.resolved_at, after.sla_due_at) == (before.resolved_at, before.sla_due_at)
    assert [a.action for a in after.audit] == [a.action for a in before.audit]
    assert Ticket.objects(id="twcs:990001").count() == 1


def test_a_late_parent_carries_the_agents_work_on_the_reply_to_the_whole_conversation(use_tiers, fault_server,
                                                                                     make_user):
    """A reply arrives before the tweet it answers: an agent works its ticket; then the parent
    arrives and the conversation becomes the parent's ticket, with that work on it."""
    ana = make_user("ana", "tech")
    use_tiers(("openai", fault_server.url))
    ingest_records(records=[twcs_record(8002, "internet down again at home", author="dan", minute=5,
                                        reply_to="8001")], source="twcs")
    analysis_services.analyse_tickets(ticket_ids=["twcs:8002"])
    services.claim_ticket(ticket_id="twcs:8002", user=ana)
    services.add_note(ticket_id="twcs:8002", user=ana, text="Called him: line test booked for Friday")
    services.correct_labels(ticket_id="twcs:8002", user=ana, sentiment="negative", topic="network",
                            urgency="high", actionable=True)
    ingest_records(records=[twcs_record(8001, "internet down since this morning", author="dan", minute=0)],
                   source="twcs")
    survivor, absorbed = Ticket.objects.get(id="twcs:8001"), Ticket.objects.get(id="twcs:8002")
    assert (absorbed.status, absorbed.merged_into, absorbed.assignee) == ("merged", "twcs:8001", None)
    assert survivor.tweet_ids == ["twcs:8001", "twcs:8002"]
    assert (survivor.assignee, survivor.status, survivor.team) == ("ana", "in_progress", "tech")
    assert [(n.by, n.text) for n in survivor.notes] == [("ana", "Called him: line test booked for Friday")]
    assert (survivor.correction.by, survivor.topic, survivor.urgency) == ("ana", "network", "high")
    assert survivor.audit[-1].action == "merged" and survivor.audit[-1].details["absorbed"] == "twcs:8002"
    assert queue_ids("tech", status="in_progress") == ["twcs:8001"]
    # the same reply sent again carries nothing twice
    ingest_records(records=[twcs_record(8002, "internet down again at home", author="dan", minute=5,
                                        reply_to="8001")], source="twcs")
    assert len(Ticket.objects.get(id="twcs:8001").notes) == 1
