"""Live events of tickets (tickets/events.py): an event names the ticket, its version and its
place, never its text, and reaches the ticket's page, the queue it entered and the one it
left, and the KPI pages; a row's key sorts the way the queue does; a write's announcement
names the tickets it was about. Events go through the real Redis channel layer."""

import logging
from datetime import UTC, datetime, timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from dallosh import live
from tickets import events

WROTE = datetime(2017, 10, 31, 10, 0, tzinfo=UTC)


def listening(*groups: str):
    """A channel of the real layer in these groups, and a function reading its next event."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    for group in groups:
        async_to_sync(layer.group_add)(group, channel)
    return lambda: async_to_sync(layer.receive)(channel)


def test_a_row_key_sorts_as_the_queue_breached_then_urgent_then_oldest_then_id():
    tickets = [
        {"_id": "twcs:5", "queue_priority": 1, "created_at": WROTE},  # low
        {"_id": "twcs:4", "queue_priority": 3, "created_at": WROTE + timedelta(hours=1)},  # high, younger
        {"_id": "twcs:3", "queue_priority": 3, "created_at": WROTE},  # high, same age: by id
        {"_id": "twcs:2", "queue_priority": 3, "created_at": WROTE},
        {"_id": "twcs:1", "queue_priority": 4, "created_at": WROTE + timedelta(days=3)},  # low but breached
    ]
    assert [t["_id"] for t in sorted(tickets, key=events.row_key)] == ["twcs:1", "twcs:2", "twcs:3", "twcs:4",
                                                                       "twcs:5"]
    assert events.row_key({"_id": "twcs:9", "created_at": WROTE}) == ""  # not queued yet: no place


def test_a_rerouted_ticket_is_told_to_both_queues_its_page_and_the_kpis_without_its_text():
    ticket_id = "twcs:42"
    hear = {name: listening(group) for name, group in [
        ("page", live.ticket_group(ticket_id)), ("billing", "queue.billing"), ("tech", "queue.tech"),
        ("kpis", live.KPI_GROUP)]}
    before = {"_id": ticket_id, "team": "tech", "status": "new", "version": 3}
    after = {**before, "team": "billing", "version": 4, "queue_priority": 3, "created_at": WROTE,
             "subject": "my bill is wrong"}
    events.ticket_changed(after=after, before=before, action="rerouted", by="ana")
    heard = {name: read() for name, read in hear.items()}
    event = heard["page"]
    assert all(other == event for other in heard.values())  # one event, to every group
    assert {key: event[key] for key in ("type", "id", "version", "action", "by", "team", "previous_team", "status",
                                        "assignee")} == {
        "type": "ticket.changed", "id": ticket_id, "version": 4, "action": "rerouted", "by": "ana",
        "team": "billing", "previous_team": "tech", "status": "new", "assignee": None}
    assert event["key"] == f"96|2017-10-31T10:00:00.000000|{ticket_id}"  # 99 - priority 3
    assert "my bill is wrong" not in str(event)  # a page reads the ticket again, through its permissions


def test_a_batch_is_published_in_one_go_each_ticket_to_its_own_queue():
    hear_tech, hear_billing = listening("queue.tech"), listening("queue.billing")
    pairs = [(None, {"_id": "twcs:1", "team": "tech"}), ({"_id": "twcs:2"}, {"_id": "twcs:2", "team": "billing"})]
    events.tickets_changed(pairs=pairs, action="analysed", by="system:fast")
    assert (hear_tech()["id"], hear_billing()["id"]) == ("twcs:1", "twcs:2")


def test_a_failed_follow_up_of_a_large_write_names_its_first_ten_tickets_and_counts_the_rest(caplog):
    def broken(**_signal):
        raise RuntimeError("rollup store unreachable")

    pairs = [(None, {"_id": f"twcs:{n}"}) for n in range(1, 13)]
    events.tickets_written.connect(broken, dispatch_uid="test-broken")
    try:
        with caplog.at_level(logging.ERROR, logger="dallosh.announce"):
            events.written(pairs=pairs)
            events.written(pairs=[])  # nothing written: nothing announced
    finally:
        events.tickets_written.disconnect(dispatch_uid="test-broken")
    [failure] = [record.getMessage() for record in caplog.records if record.name == "dallosh.announce"]
    names = ", ".join(f"twcs:{n}" for n in range(1, 11))
    assert f"for ticket(s) {names} and 2 more;" in failure
