"""KPI figures from the rollups, checked against counts computed here from the data the test
put in (the scripted model labels by bench.llm_servers.expected_labels)."""

import csv
import io
import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from analysis import services as analysis_services
from bench.llm_servers import expected_labels
from dashboard import kpis, selectors
from dashboard.selectors import KpiFilters
from ingestion.services import ingest_calls, ingest_mails, ingest_records
from ingestion.transcripts import Hints
from tests.helpers import email_bytes, repeat_while, twcs_record
from tickets import services as ticket_services
from tickets.models import Ticket

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
    days_since = (datetime.now(UTC).date() - date(2018, 1, 1)).days + 1  # every day up to today, each at zero
    assert later.totals["tickets"] == 0 and len(later.series) == days_since
    assert {(p["tickets"], p["customer"], p["negative_share"]) for p in later.series} == {(0, 0, None)}


def test_each_channel_is_counted_and_filtered_and_old_cells_are_tweets(analysed, client, make_user):
    analysed("internet down since this morning", "my bill is wrong")
    ingest_mails(messages=[email_bytes(subject="Coupure", body="Internet down at home since yesterday.")])
    ingest_calls(calls=[(b"Agent : Bonjour\nClient : my bill is wrong again\n", Hints(caller="+33600000009"))])
    others = list(Ticket.objects(channel__in=["email", "call"]).scalar("id"))
    assert len(others) == 2
    analysis_services.analyse_tickets(ticket_ids=others)
    assert everything().channels == Counter({"twitter": 2, "email": 1, "call": 1})
    assert everything(channel="email").totals["tickets"] == 1
    assert everything(channel="call").topics == Counter({"billing": 1})
    assert kpis.parse_cell("tech|network|negative|high|en") == kpis.Cell(
        "tech", "network", "negative", "high", "en", "twitter")  # written before channels
    client.force_login(make_user("max", role="manager"))
    rows = list(csv.reader(io.StringIO(client.get("/kpis/?period=all&export=channels").content.decode())))
    assert rows[0] == ["value", "tickets", "share"] and sorted(r[:2] for r in rows[1:]) == [
        ["call", "1"], ["email", "1"], ["twitter", "2"]]
    assert "tous les canaux" in client.get("/kpis/?period=all", HTTP_ACCEPT_LANGUAGE="fr").content.decode()


def test_rebuilding_the_rollups_gives_the_same_figures(kpi_data):
    before = everything()
    kpis.rebuild_kpis()
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

    assert repeat_while(agent_at_work, repeat=kpis.rebuild_kpis) >= 1
    report = everything()
    # Four rounds: resolved, reopened, resolved, reopened; every ticket ends in progress.
    assert (report.totals["tickets"], report.totals["open"], report.totals["resolved"]) == (10, 10, 0)
    assert [(p["tickets"], p["customer"]) for p in report.series] == [(10, 10)]


def test_kpi_page_exports_each_table_and_refuses_agents(client, kpi_data, make_user):
    client.force_login(make_user("max", role="manager"))
    page = client.get("/kpis/?period=custom&from=2017-10-31&to=2017-10-31&team=tech")
    assert page.status_code == 200 and 'id="chart-topics"' in page.content.decode()
    exported = client.get("/kpis/?period=all&team=tech&export=topics")
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


def page_data(client, query=""):
    """The figures the KPI page draws its charts from (its json_script), and the page itself."""
    page = client.get(f"/kpis/{query}").content.decode()
    found = re.search(r'<script id="kpi-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(found.group(1)), page


def test_the_page_opens_on_the_last_30_days_every_day_drawn(client, analysed, make_user):
    analysed("internet down since this morning")  # in 2017: outside the last 30 days
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    ingest_records(records=[twcs_record(9001, "still no signal", at=two_days_ago)], source="twcs")
    client.force_login(make_user("max", role="manager"))
    data, page = page_data(client)
    today = datetime.now(UTC).date()
    days = [f"{today - timedelta(days=n):%Y-%m-%d}" for n in range(30, -1, -1)]
    assert data["labels"] == days
    assert data["customer"][days.index(f"{two_days_ago:%Y-%m-%d}")] == 1 and sum(data["customer"]) == 1
    assert sum(data["tickets"]) == 0
    assert re.search(r'<option value="30d"[^>]* selected>', page)
    all_time, _page = page_data(client, "?period=all")
    assert sum(all_time["tickets"]) == 1


def test_a_quiet_day_inside_the_period_is_drawn_at_zero(client, analysed, make_user):
    texts = ["internet down since this morning", "thanks, I love it", "my bill is wrong"]
    analysed(*texts)  # 2017-10-31
    ingest_records(records=[twcs_record(9002, "hello?", at=datetime(2017, 11, 2, 9, tzinfo=UTC))], source="twcs")
    client.force_login(make_user("max", role="manager"))
    data, _page = page_data(client, "?period=custom&from=2017-10-30&to=2017-11-03")
    assert data["labels"] == ["2017-10-30", "2017-10-31", "2017-11-01", "2017-11-02", "2017-11-03"]
    assert data["tickets"] == [0, len(texts), 0, 0, 0]
    assert data["customer"] == [0, len(texts), 0, 1, 0]
    negative = sum(expected_labels(text)["sentiment"] == "negative" for text in texts)
    assert data["negative"] == [None, round(100 * negative / len(texts), 1), None, None, None]


def test_figures_are_written_one_way_each(client, kpi_data, make_user):
    client.force_login(make_user("max", role="manager"))
    _data, page = page_data(client, "?period=all")
    sentiments = Counter(expected_labels(text)["sentiment"] for text in TEXTS)
    for sentiment, tickets in sentiments.items():
        row = re.search(rf'<tr data-value="{sentiment}">(.*?)</tr>', page, re.S).group(1)
        assert f'<td class="num">{tickets}</td><td class="num">{100 * tickets / len(TEXTS):.1f}%</td>' in row
    # Ticket 0 got the brand's reply after 30 minutes; ticket 1 was answered by resolving it
    # today, years after its 2017 tweet: the mean is in days (with thousands separators).
    assert re.search(r'data-figure="mean first response">\d{1,3}(,\d{3})* d \d{1,2} h<', page)
    assert re.search(r'data-figure="tickets">7<', page)


def test_each_sentiment_has_its_own_colour(client, kpi_data, make_user):
    client.force_login(make_user("max", role="manager"))
    data, page = page_data(client, "?period=all")
    assert data["sentiment_colours"] == {"negative": "#b42318", "neutral": "#98a2b3", "positive": "#067647"}
    assert 'data-value="negative"><td><span class="pill swatch" style="background:#b42318"' in page
