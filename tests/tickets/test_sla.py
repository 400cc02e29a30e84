"""Response-time targets (tickets/sla.py), as its docstring promises: the clock starts when the
customer wrote or when we received the tweet, whichever is later (an import of old tweets is
not born breached); breached tickets float above every urgency until we respond; a response
keeps the verdict; a customer writing again starts a new clock. Pure functions on ticket
dicts, with the targets set by the test: no server."""

from datetime import UTC, datetime, timedelta

import pytest

from tickets import sla

pytestmark = pytest.mark.no_servers

WROTE = datetime(2017, 10, 31, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def targets(settings):
    settings.DALLOSH_SLA = settings.DALLOSH_SLA.replace(hours={"high": 1, "medium": 8, "low": 48})


def test_breached_tickets_outrank_every_urgency_then_urgency_orders():
    order = [sla.priority(u, overdue=o) for o in (True, False) for u in ("high", "medium", "low")]
    assert order == [6, 5, 4, 3, 2, 1] and sla.PRIORITIES == (6, 5, 4, 3, 2, 1)


def test_an_old_tweet_imported_now_starts_its_clock_when_received_not_when_written():
    imported = {"created_at": WROTE, "ingested_at": WROTE + timedelta(days=2000)}
    fields = sla.fields_for_urgency(imported, "high", now=WROTE + timedelta(days=2000, minutes=10))
    assert fields == {"sla_due_at": WROTE + timedelta(days=2000) + HOUR, "sla_state": "running", "queue_priority": 3}
    live = {"created_at": WROTE, "ingested_at": WROTE + timedelta(seconds=5)}
    assert sla.due_at(live, "medium") == WROTE + timedelta(seconds=5) + 8 * HOUR


def test_a_ticket_past_its_target_is_born_breached_and_floats_up():
    late = sla.fields_for_urgency({"created_at": WROTE}, "low", now=WROTE + 49 * HOUR)
    assert late == {"sla_due_at": WROTE + 48 * HOUR, "sla_state": "breached", "queue_priority": 4}
    assert sla.fields_on_breach({"urgency": "medium"}) == {"sla_state": "breached", "queue_priority": 5}


def test_a_response_stops_the_clock_keeps_the_verdict_and_stops_the_float():
    now = WROTE + 2 * HOUR
    assert sla.fields_on_response({"urgency": "high", "sla_state": "running"}, now) == {
        "sla_state": "met", "responded_at": now, "queue_priority": 3}
    assert sla.fields_on_response({"urgency": "high", "sla_state": "breached"}, now) == {
        "sla_state": "breached", "responded_at": now, "queue_priority": 3}
    assert sla.fields_on_response({"urgency": "high", "responded_at": WROTE}, now) == {}  # the first one counts
    assert sla.fields_on_response({}, now) == {"responded_at": now}  # not analysed: routing judges later
    # Answered before it had an urgency: the verdict, from when we answered, once it gets one.
    answered = {"created_at": WROTE, "responded_at": WROTE + timedelta(minutes=30)}
    assert sla.fields_for_urgency(answered, "high", now=WROTE + 5 * HOUR)["sla_state"] == "met"
    assert sla.fields_for_urgency(answered | {"responded_at": WROTE + 2 * HOUR}, "high",
                                  now=WROTE + 5 * HOUR)["sla_state"] == "breached"
    # A verdict given stays when the urgency changes afterwards.
    assert sla.fields_for_urgency(answered | {"sla_state": "met"}, "low", now=WROTE + 5 * HOUR) == {
        "queue_priority": 1}


def test_the_customer_writing_again_starts_a_new_clock_and_only_a_running_one_has_time_left():
    now = WROTE + 10 * HOUR
    again = sla.fields_on_customer_reply({"urgency": "medium", "sla_state": "met", "responded_at": WROTE}, now)
    assert again == {"sla_due_at": now + 8 * HOUR, "sla_state": "running", "responded_at": None, "queue_priority": 2}
    assert sla.time_left(again, now + HOUR) == 7 * HOUR
    assert sla.time_left(again, now + 9 * HOUR) == -HOUR  # running, past due: the watch flags it next
    assert sla.time_left({"sla_state": "met", "sla_due_at": now}, now) is None


def test_each_channel_has_its_own_targets_and_a_channel_without_any_takes_the_tweets(settings):
    settings.DALLOSH_SLA = settings.DALLOSH_SLA.replace(channel_hours={"email": {"high": 4, "medium": 24}})
    mail = {"created_at": WROTE, "channel": "email"}
    assert sla.due_at(mail, "high") == WROTE + 4 * HOUR
    assert sla.due_at(mail, "low") == WROTE + 48 * HOUR  # no e-mail target for low: the tweets'
    assert sla.due_at({"created_at": WROTE, "channel": "call"}, "high") == WROTE + HOUR
    assert sla.due_at({"created_at": WROTE}, "medium") == WROTE + 8 * HOUR  # from before channels: a tweet
    written_again = sla.fields_on_customer_reply({"urgency": "medium", "channel": "email"}, WROTE)
    assert written_again["sla_due_at"] == WROTE + 24 * HOUR
    assert sla.fields_for_urgency(mail, "high", now=WROTE + 3 * HOUR)["sla_state"] == "running"  # a tweet would be late
