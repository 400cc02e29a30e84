"""Dashboard reads: the overview and the KPI report, from rollups and indexed queries only
(never by loading tickets)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from analysis import scorecards
from analysis import selectors as analysis_selectors
from dallosh import permissions, vocabulary
from dallosh.bulk import EARLIEST
from dallosh.mongo import as_utc
from dashboard import kpis
from dashboard.alert_texts import alert_sentence
from dashboard.alerts import open_alerts
from dashboard.kpis import bucket_start
from ingestion import selectors as ingestion_selectors
from tickets import selectors as ticket_selectors
from tickets.models import TicketStatus

PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30),
           "90d": timedelta(days=90)}
HOURLY_UP_TO = timedelta(days=3)  # longer periods are drawn per day


@dataclass(frozen=True)
class WorkerCluster:
    host: str
    cluster_id: str
    status: str
    workers: int
    seen_at: datetime


def system_health() -> dict:
    """What keeps the pipeline moving: tasks waiting on the broker, the worker clusters that
    reported in (a cluster reports every few seconds; none means nothing is analysed), the
    provider tiers, ingest jobs running."""
    from django_q.brokers import get_broker
    from django_q.status import Stat

    try:
        broker = get_broker()
        queued = broker.queue_size()
        clusters = [WorkerCluster(host=stat.host, cluster_id=str(stat.cluster_id), status=str(stat.status),
                                  workers=len(stat.workers), seen_at=stat.timestamp) for stat in Stat.get_all(broker)]
        broker_error = ""
    except Exception as error:  # the page must show a broken broker, not crash on it
        queued, clusters, broker_error = None, [], f"{type(error).__name__}: {error}"
    return {"tasks_queued": queued, "clusters": clusters, "broker_error": broker_error,
            "providers": analysis_selectors.provider_status(),
            "jobs_running": ingestion_selectors.jobs_running()}


def overview() -> dict:
    backlog = ticket_selectors.backlog()
    health = system_health()
    return {
        "health": health,
        "analysis_backlog": analysis_selectors.analysis_backlog(),
        "backlog": [(team, [backlog.get(team, {}).get(status, 0) for status in TicketStatus.OPEN])
                    for team in vocabulary.TEAMS],
        "open_statuses": TicketStatus.OPEN,
        "providers": health["providers"],  # read once, for the health line and the providers table
        "fast_tier": analysis_selectors.fast_tier_status(),
        "scorecards": scorecards.tier_scores(),
        "label_fields": vocabulary.LABEL_FIELDS,
        "ledger": analysis_selectors.ledger(days=3),
        "jobs_running": health["jobs_running"],
        "recent_jobs": ingestion_selectors.recent_jobs(limit=5),
    }


@dataclass(frozen=True)
class KpiFilters:
    """A KPI view: a period [start, end) of when customers wrote, and label filters."""

    start: datetime | None  # None: from the first figures
    end: datetime | None  # None: up to now
    team: str = ""
    topic: str = ""
    sentiment: str = ""
    language: str = ""
    channel: str = ""

    def keeps(self, cell: kpis.Cell) -> bool:
        return ((not self.team or cell.team == self.team) and (not self.topic or cell.topic == self.topic)
                and (not self.sentiment or cell.sentiment == self.sentiment)
                and (not self.language or cell.language == self.language)
                and (not self.channel or cell.channel == self.channel))


@dataclass
class KpiReport:
    grain: str
    series: list[dict] = field(default_factory=list)  # per bucket: start, tickets, customer, brand, negative
    topics: Counter = field(default_factory=Counter)
    sentiments: Counter = field(default_factory=Counter)
    urgencies: Counter = field(default_factory=Counter)
    teams: Counter = field(default_factory=Counter)
    channels: Counter = field(default_factory=Counter)
    providers: Counter = field(default_factory=Counter)
    totals: Counter = field(default_factory=Counter)  # tickets, open, resolved, breached, corrected, responded, …
    backlog: dict[str, dict[str, int]] = field(default_factory=dict)
    quarantined: int = 0
    ledger: list[dict] = field(default_factory=list)
    agreement: list = field(default_factory=list)  # analysis.selectors.Agreement, over the whole period

    @property
    def mean_response_s(self) -> float | None:
        return self.totals["response_s"] / self.totals["responded"] if self.totals["responded"] else None

    @property
    def mean_resolution_s(self) -> float | None:
        return self.totals["resolution_s"] / self.totals["resolved"] if self.totals["resolved"] else None


def kpi_report(*, filters: KpiFilters) -> KpiReport:
    """Every figure of the KPI pages for one view, from the day or hour buckets of its period."""
    end = filters.end or datetime.now(UTC)
    grain = "h" if filters.start and end - filters.start <= HOURLY_UP_TO else "d"
    report = KpiReport(grain=grain)
    first = bucket_start(filters.start, grain) if filters.start else None
    for bucket in kpis.buckets_between(grain=grain, start=first, end=end):
        report.series.append(_add_bucket(report, bucket, filters))
    report.series = _with_gaps(report.series, grain, first=first, end=filters.end)
    report.backlog = {team: counts for team, counts in ticket_selectors.backlog().items()
                      if not filters.team or team == filters.team}
    report.quarantined = ingestion_selectors.quarantined_between(start=filters.start, end=end)
    report.ledger = analysis_selectors.ledger_between(start=filters.start, end=end)
    report.agreement = analysis_selectors.agreement_with_agents(since=filters.start or EARLIEST, until=end,
                                                                weekly=False)
    return report


def figures_span() -> tuple[date, date] | None:
    """The first and last day that hold figures (when customers wrote), or None: offered
    when a period comes out empty, as the demo's historical data does on "last 30 days".
    Two reads of the day buckets' index."""
    span = kpis.held_days_span()
    return None if span is None else (span[0].date(), span[1].date())


def _add_bucket(report: KpiReport, bucket: dict, filters: KpiFilters) -> dict:
    point = Counter()
    for key, counters in bucket.get("cells", {}).items():
        cell = kpis.parse_cell(key)
        if not filters.keeps(cell):
            continue
        tickets = counters.get("tickets", 0)
        if tickets <= 0:
            continue
        report.topics[cell.topic] += tickets
        report.sentiments[cell.sentiment] += tickets
        report.urgencies[cell.urgency] += tickets
        report.teams[cell.team] += tickets
        report.channels[cell.channel] += tickets
        for name, value in counters.items():
            if name.startswith("provider:"):
                report.providers[name.split(":", 1)[1]] += value
            else:
                report.totals[name] += value
        point["tickets"] += tickets
        point["negative"] += tickets if cell.sentiment == "negative" else 0
    for key, count in bucket.get("tweets", {}).items():
        language, kind = key.split("|")
        if not filters.language or language == filters.language:
            point[kind] += count
    start = as_utc(bucket["start"])
    return {"start": start, "tickets": point["tickets"], "customer": point["customer"], "brand": point["brand"],
            "negative_share": point["negative"] / point["tickets"] if point["tickets"] else None}


MAX_POINTS = 10_000  # more days than from EARLIEST to now: every period is drawn whole, evenly


def _with_gaps(series: list[dict], grain: str, *, first: datetime | None, end: datetime | None) -> list[dict]:
    """Every hour or day of the period, zero where nothing happened, so charts have an even
    axis and show the quiet times too: a chosen period runs from its first to its last hour
    or day (up to now), however quiet; all time runs from the first figures to the last."""
    step = timedelta(hours=1) if grain == "h" else timedelta(days=1)
    if first is None and not series:
        return series
    start = first or series[0]["start"]
    stop = min(end or datetime.now(UTC), datetime.now(UTC)) if first else series[-1]["start"] + step
    if series:
        stop = max(stop, series[-1]["start"] + step)
    if (stop - start) / step > MAX_POINTS:
        return series
    known = {point["start"]: point for point in series}
    filled, moment = [], start
    while moment < stop:
        filled.append(known.get(moment) or {"start": moment, "tickets": 0, "customer": 0, "brand": 0,
                                            "negative_share": None})
        moment += step
    return filled





ALERT_FIELDS = {"rule_name": 1, "kind": 1, "team": 1, "message": 1, "figures": 1, "groups": 1, "ticket_ids": 1,
                "raised_at": 1, "updated_at": 1, "acknowledged_by": 1, "acknowledged_at": 1, "open": 1,
                "closed_at": 1}


def _alert_text(alert: dict) -> str:
    """The alert's sentence in the reader's language, else (an alert stored before sentences
    were written from figures) its stored message."""
    try:
        return alert_sentence(kind=alert["kind"], figures=alert.get("figures") or {}, team=alert.get("team"))
    except (KeyError, TypeError, ValueError):
        return alert["message"]


def alerts_for(*, user, limit: int = 20) -> list[dict]:
    """Open alerts this user hears of (managers: all; agents: their teams'), newest first."""
    alerts = open_alerts(fields=ALERT_FIELDS)
    if not permissions.is_manager(user):
        teams = set(permissions.agent_teams(user))
        alerts = [alert for alert in alerts if alert.get("team") in teams]
    for alert in alerts:
        alert["id"] = str(alert.pop("_id"))
        alert["text"] = _alert_text(alert)
        alert["group_sizes"] = [(name.split(":", 1)[0], name.split(":", 1)[1], len(ids))
                                for name, ids in (alert.get("groups") or {}).items()][:8]
    return alerts[:limit]
