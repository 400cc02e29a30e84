"""Tickets derived from conversations (tickets/conversations.py), through the real
services and MongoDB-protocol server; tickets are ingested and analysed by the real
pipeline (scripted model)."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.steps import queue_ids
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


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
