"""The one failure policy after a write (dallosh/announce.py): a follow-up that fails is
logged with the ticket it was about, the write stands, and the follow-ups after it run."""

from __future__ import annotations

import logging

import pytest

from dashboard import selectors as kpi_selectors
from dashboard.selectors import KpiFilters
from tickets import events, services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def test_a_failing_follow_up_neither_undoes_the_write_nor_stops_the_others(analysed, make_user, caplog):
    ticket_id = analysed("internet down")[0]
    heard = []

    def broken_rollup(**_signal):
        raise RuntimeError("rollup store unreachable")

    def later_follow_up(*, pairs, **_signal):
        heard.extend(after["_id"] for _before, after in pairs)

    events.tickets_written.connect(broken_rollup, dispatch_uid="test-broken")
    events.tickets_written.connect(later_follow_up, dispatch_uid="test-later")
    try:
        with caplog.at_level(logging.ERROR, logger="dallosh.announce"):
            services.change_status(ticket_id=ticket_id, user=make_user("ana", "tech"), status="resolved")
    finally:
        events.tickets_written.disconnect(dispatch_uid="test-broken")
        events.tickets_written.disconnect(dispatch_uid="test-later")
    assert Ticket.objects.get(id=ticket_id).status == "resolved"  # the write stands
    assert heard == [ticket_id]  # the follow-up after the broken one ran
    assert kpi_selectors.kpi_report(filters=KpiFilters(start=None, end=None)).totals["resolved"] == 1
    failure = next(r for r in caplog.records if r.name == "dallosh.announce")
    assert ticket_id in failure.getMessage() and "rollup store unreachable" in failure.exc_text
