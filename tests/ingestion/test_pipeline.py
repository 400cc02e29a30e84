"""Ingestion's pipeline, end to end on the real stores: a file ingested in overlapping
pieces, in any order, leaves what ingesting it once leaves (a stream client re-sending a
batch, exports that overlap, a replayed chunk)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import selectors as kpi_selectors
from dashboard.selectors import KpiFilters
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tests.steps import empty_collections
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def brand(tweet_id: int, to: int, minute: int) -> dict:
    return twcs_record(tweet_id, "@customer we are on it, DM us", author="FreeSupport", inbound=False,
                       minute=minute, reply_to=str(to))


def customer(tweet_id: int, text: str, minute: int, *, author: str | None = None, to: int | None = None) -> dict:
    return twcs_record(tweet_id, text, author=author, minute=minute, reply_to=str(to) if to else None)


# Five conversations as an export holds them: answered then written to again, answered last,
# a lone complaint, a thread of two customer tweets, and the brand's own post (no ticket).
FILE = [
    customer(1, "internet down since this morning", 0, author="alice"),
    brand(2, 1, 5),
    customer(3, "still down, nothing works", 9, author="alice", to=2),
    customer(4, "my bill is wrong this month", 1, author="bob"),
    brand(5, 4, 20),
    customer(6, "panne de fibre à Lyon", 2),
    customer(7, "no signal at home", 3, author="chloe"),
    customer(8, "and no 4G either", 4, author="chloe", to=7),
    twcs_record(9, "New offers are out!", author="FreeSupport", inbound=False, minute=30),
]


def outcome() -> dict:
    """What a person can see: the open tickets with their tweets, status and clocks, their
    audit trails, and the KPI figures."""
    tickets = {}
    for ticket in Ticket.objects(status__ne="merged"):
        tickets[ticket.id] = {
            "tweets": sorted(ticket.tweet_ids), "status": ticket.status, "customer": ticket.customer,
            "created_at": ticket.created_at, "responded_at": ticket.responded_at,
            "first_brand_reply_at": ticket.first_brand_reply_at, "needs_analysis": ticket.needs_analysis,
            "audit": [entry.action for entry in ticket.audit]}
    report = kpi_selectors.kpi_report(filters=KpiFilters(start=None, end=None))
    kpis = {"totals": dict(report.totals), "series": [{k: v for k, v in b.items()} for b in report.series],
            "backlog": report.backlog}
    return {"tickets": tickets, "kpis": kpis}


def assert_same(found: dict, expected: dict) -> None:
    """Equal, or fail naming each ticket or figure that differs (the whole dicts are unreadable)."""
    differences = [(ticket_id, field_name, found["tickets"].get(ticket_id, {}).get(field_name), value)
                   for ticket_id, fields in expected["tickets"].items() for field_name, value in fields.items()
                   if found["tickets"].get(ticket_id, {}).get(field_name) != value]
    extra = sorted(found["tickets"].keys() - expected["tickets"].keys())
    figures = [(name, found["kpis"][name], value) for name, value in expected["kpis"].items()
               if found["kpis"][name] != value]
    assert not (differences or extra or figures), (differences, extra, figures)


@st.composite
def overlapping_pieces(draw) -> list[list[dict]]:
    """The file cut into pieces that each reach a little into their neighbours, in any order,
    some sent twice."""
    cuts = sorted(draw(st.sets(st.integers(1, len(FILE) - 1), max_size=4)))
    bounds = list(zip([0, *cuts], [*cuts, len(FILE)], strict=True))
    pieces = []
    for start, end in bounds:
        before = draw(st.integers(0, 2))
        after = draw(st.integers(0, 2))
        pieces.append(FILE[max(0, start - before):min(len(FILE), end + after)])
    pieces = draw(st.permutations(pieces))
    repeated = draw(st.lists(st.sampled_from(pieces), max_size=2))
    return [*pieces, *repeated]


@pytest.fixture
def once() -> dict:
    ingest_records(records=FILE, source="twcs")
    seen = outcome()
    empty_collections()
    return seen


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=overlapping_pieces())
def test_a_file_ingested_in_overlapping_pieces_in_any_order_leaves_what_ingesting_it_once_leaves(once, pieces):
    try:
        for piece in pieces:
            ingest_records(records=piece, source="twcs")
        assert_same(outcome(), once)
    finally:
        empty_collections()


def test_a_file_ingested_again_in_pieces_after_itself_changes_nothing():
    ingest_records(records=FILE, source="twcs")
    seen = outcome()
    for piece in (FILE[2:6], FILE[:3], FILE[5:], FILE):
        ingest_records(records=piece, source="twcs")
    assert_same(outcome(), seen)
