"""Publishing on the live layer: every group named hears the event; a broken layer costs the
service that wrote nothing but a log line."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer

from dallosh import live


def test_an_event_reaches_every_group_it_names():
    layer = get_channel_layer()
    queue, page = async_to_sync(layer.new_channel)(), async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(live.queue_group("tech"), queue)
    async_to_sync(layer.group_add)(live.ticket_group("twcs:42"), page)
    event = {"type": live.TICKET_CHANGED, "id": "twcs:42", "version": 3}
    live.publish({live.queue_group("tech"), live.ticket_group("twcs:42")}, event)
    assert async_to_sync(layer.receive)(queue) == event
    assert async_to_sync(layer.receive)(page) == event


def test_group_names_are_ones_channels_accepts():
    """Ticket ids hold a colon, which a group name may not: they are hashed."""
    name = live.ticket_group("twcs:42")
    assert name.startswith("ticket.") and ":" not in name and name == live.ticket_group("twcs:42")


def test_a_broken_layer_is_logged_not_raised(settings, caplog):
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": [
        {**layer["CONFIG"]["hosts"][0], "address": "redis://127.0.0.1:1/0"}]}}}
    channel_layers.backends.clear()
    with caplog.at_level(logging.ERROR, logger="dallosh.live"):
        live.publish({live.KPI_GROUP}, {"type": live.TICKET_CHANGED, "id": "twcs:1", "action": "claimed"})
    assert "could not publish 1 event(s)" in caplog.text
    channel_layers.backends.clear()
