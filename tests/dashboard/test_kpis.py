"""KPI figures from the rollups, checked against counts computed here from the data the test
put in (the scripted model labels by bench.llm_servers.expected_labels)."""

import csv
import io
from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.llm_servers import expected_labels
from dashboard import selectors, services
from dashboard.selectors import KpiFilters
from ingestion.services import ingest_records
from tests.helpers import repeat_while
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db

TEXTS = ["internet down since this morning", "no signal at home", "my bill is wrong", "thanks, I love it",
         "panne de fibre à Lyon", "fibre down again", "is the new offer available"]


def everything(**labels):
    return selectors.kpi_report(filters=KpiFilters(start=None, end=None, **labels))


@pytest.fixture
def kpi_data(analysed, make_user):
    ids = analysed(*TEXTS)
    brand_reply = {"tweet_id": "555001", "author_id": "FreeSupport", "inbound": False, "text": "we are on it",
                   "created_at": "Tue Oct 31 10:30:00 +0000 2017", "response_tweet_id": "",
                   "in_response_to_tweet_id": ids[0].split(":")[1]}
    ingest_records(records=[brand_reply], source="twcs")  # first response to ticket 0 after 30 minutes
    ana = make_user("ana", "tech")
    ticket_services.claim_ticket(ticket_id=ids[1], user=ana)
    ticket_services.change_status(ticket_id=ids[1], user=ana, status="resolved")
    ticket_services.correct_labels(ticket_id=ids[5], user=ana, sentiment="negative", topic="technical",
                                   urgency="medium", actionable=True)
    return ids


def expected_topics():
    topics = Counter(expected_labels(text)["topic"] for text in TEXTS)
    topics["network"] -= 1  # "fibre down again" was corrected to technical
    topics["technical"] += 1
    return +topics


def test_shares_and_service_figures_match_the_tickets_put_in(kpi_data):
    report = everything()
    assert report.topics == expected_topics()
    assert report.sentiments == Counter(expected_labels(text)["sentiment"] for text in TEXTS)
    urgencies = Counter(expected_labels(text)["urgency"] for text in TEXTS)
    urgencies["high"] -= 1  # the correction made "fibre down again" medium
    urgencies["medium"] += 1
    assert report.urgencies == +urgencies
    assert report.teams == Counter(expected_labels(text)["team"] for text in TEXTS)
    assert (report.totals["tickets"], report.totals["resolved"], report.totals["open"],
            report.totals["corrected"]) == (7, 1, 6, 1)
    assert report.providers == {"openai": 7}
    # Ticket 0 (10:00) got the brand's reply at 10:30; ticket 1 was answered by resolving it.
    assert report.totals["responded"] == 2
    assert report.mean_response_s is not None and report.mean_resolution_s is not None


def test_volume_counts_customer_and_brand_tweets_per_day(kpi_data):
    report = everything()
    assert [(p["start"], p["tickets"], p["customer"], p["brand"]) for p in report.series] == [
        (datetime(2017, 10, 31, tzinfo=UTC), 7, 7, 1)]
    hourly = selectors.kpi_report(filters=KpiFilters(start=datetime(2017, 10, 31, tzinfo=UTC),
                                                     end=datetime(2017, 11, 1, tzinfo=UTC)))
    assert hourly.grain == "h" and len(hourly.series) == 24  # every hour of the day, quiet ones at zero
    assert [(p["start"].hour, p["customer"], p["brand"]) for p in hourly.series if p["customer"] or p["brand"]] == [
        (10, 7, 1)]


def test_filters_narrow_every_figure(kpi_data):
    tech = everything(team="tech")
    assert tech.teams == {"tech": sum(expected_labels(t)["team"] == "tech" for t in TEXTS)}
    french = everything(language="fr")
    assert french.totals["tickets"] == 1 and french.series[0]["customer"] == 1
    assert everything(topic="billing").totals["tickets"] == 1
    negatives = sum(expected_labels(t)["sentiment"] == "negative" for t in TEXTS)
    assert everything(sentiment="negative").totals["tickets"] == negatives
    later = selectors.kpi_report(filters=KpiFilters(start=datetime(2018, 1, 1, tzinfo=UTC), end=None))
    assert later.totals["tickets"] == 0 and later.series == []


def test_rebuilding_the_rollups_gives_the_same_figures(kpi_data):
    before = everything()
    services.rebuild_kpis()
    after = everything()
    assert (after.topics, after.totals, after.series) == (before.topics, before.totals, before.series)


@pytest.mark.django_db(transaction=True)  # the agent works from a thread of its own
def test_a_rebuild_while_agents_work_loses_no_change(analysed, make_user):
    """An agent resolves and reopens tickets while the rollups are rebuilt over and over: the
    figures then equal what the tickets say (before, a rebuild deleted every bucket and
    re-summed, losing the increments made meanwhile)."""
    ana = make_user("ana", "tech")
    ticket_ids = analysed(*[f"internet down in street {n}" for n in range(10)])

    def agent_at_work():
        for round_ in range(4):
            for ticket_id in ticket_ids:
                ticket_services.change_status(ticket_id=ticket_id, user=ana,
                                              status="resolved" if round_ % 2 == 0 else "in_progress")

    assert repeat_while(agent_at_work, repeat=services.rebuild_kpis) >= 1
    report = everything()
    # Four rounds: resolved, reopened, resolved, reopened; every ticket ends in progress.
    assert (report.totals["tickets"], report.totals["open"], report.totals["resolved"]) == (10, 10, 0)
    assert [(p["tickets"], p["customer"]) for p in report.series] == [(10, 10)]


def test_kpi_page_exports_each_table_and_refuses_agents(client, kpi_data, make_user):
    client.force_login(make_user("max", role="manager"))
    page = client.get("/kpis/?period=custom&from=2017-10-31&to=2017-10-31&team=tech")
    assert page.status_code == 200 and 'id="chart-topics"' in page.content.decode()
    exported = client.get("/kpis/?team=tech&export=topics")
    assert exported["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    tech_topics = Counter(expected_labels(t)["topic"] for t in TEXTS if expected_labels(t)["team"] == "tech")
    tech_topics["network"] -= 1
    tech_topics["technical"] += 1
    assert rows[0] == ["value", "tickets", "share"]
    assert {row[0]: int(row[1]) for row in rows[1:]} == +tech_topics
    bad = client.get("/kpis/?period=custom&from=2017-10-31&to=yesterday")
    assert "give both dates as YYYY-MM-DD" in bad.content.decode()
    client.force_login(make_user("ana2", "tech"))
    assert client.get("/kpis/").status_code == 403
