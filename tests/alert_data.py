"""Test data for alerts: a day of real tweets and a synthetic outage burst (a pytest plugin
of tests/conftest.py, shared by the alert tests and the browser tests)."""

import csv
from datetime import UTC, datetime, timedelta

import pytest

from analysis import services as analysis_services
from dashboard.models import AlertRule
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tickets.models import Ticket

BURST_TEXT = "internet down again in Lyon, nothing works"


def analyse_everything():
    pending = list(Ticket.objects(needs_analysis=True).scalar("id"))
    for start in range(0, len(pending), 100):
        analysis_services.analyse_tickets(ticket_ids=pending[start:start + 100])


@pytest.fixture
def real_day(shared_data, use_tiers, fault_server):
    """150 real customer tweets of the shared sample, moved to the last 24 hours and analysed."""
    use_tiers(("openai", fault_server.url), batch_size=20)
    now = datetime.now(UTC)
    with (shared_data / "twcs_sample.csv").open(newline="", encoding="utf-8") as source:
        rows = [row for row in csv.DictReader(source) if row["inbound"] == "True"][:150]
    records = [twcs_record(row["tweet_id"], row["text"], author=row["author_id"],
                           at=now - timedelta(hours=24) + n * 2 * timedelta(minutes=4))
               for n, row in enumerate(rows)]  # 20 hours of traffic, ending 4 hours ago
    ingest_records(records=records, source="twcs")
    analyse_everything()
    return rows


def inject_burst(count, now):
    ingest_records(records=[twcs_record(990_000 + n, BURST_TEXT, author=f"angry{n}",
                                        at=now - timedelta(minutes=30) + n * timedelta(seconds=50))
                            for n in range(count)], source="twcs")
    analyse_everything()


@pytest.fixture
def outage_rule():
    """The only alert rule (the starting rules the migration creates are tested on their own)."""
    AlertRule.objects.all().delete()
    return AlertRule.objects.create(name="outage", kind="outage_burst", threshold=3, window_minutes=60,
                                    min_tickets=10, region_keywords="paris, lyon")


