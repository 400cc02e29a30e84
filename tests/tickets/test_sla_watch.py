"""The SLA watch (tickets/sla_watch.py): breaches float up, older tickets get queue fields, through the real
services and MongoDB-protocol server; tickets are ingested and analysed by the real
pipeline (scripted model)."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from tests.steps import queue_ids
from tickets import sla_watch
from tickets.models import QueueDay, Ticket

pytestmark = pytest.mark.django_db


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


def test_rebuild_queues_lists_the_tickets_an_older_version_left_unsure(fast_labelled):
    doubted, sure = fast_labelled("no signal in Paris", "no signal at home",
                                  doubts={"no signal in Paris": {"topic": 0.4}})
    # As an older version wrote them: no unsure flag, and a directory that does not count them apart.
    Ticket._get_collection().update_many({}, {"$unset": {"unsure": ""}})
    QueueDay._get_collection().delete_many({})
    call_command("rebuild_queues", stdout=io.StringIO())
    assert queue_ids("tech", unsure=True) == [doubted]
    assert queue_ids("tech") == [doubted, sure]
    assert Ticket.objects.get(id=doubted).audit[-1].action == "marked_unsure"
    assert Ticket.objects.get(id=sure).unsure is None  # left as it was: sure
