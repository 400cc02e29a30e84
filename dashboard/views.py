"""Managers' pages: thin, they read through dashboard/selectors.py and ask dallosh.permissions."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from dallosh import permissions, vocabulary
from dashboard import alerts, selectors
from dashboard.forms import kpi_view
from tickets.models import TicketStatus

PAGE_PERIOD = "30d"  # the page opens on the last 30 days; all time is one choice away
SENTIMENT_COLOURS = {"negative": "#b42318", "neutral": "#98a2b3", "positive": "#067647"}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Managers and admins land on the overview; agents on their queue; anyone else (an
    account with no team yet, an ingest-only account) on a page that says what it may do,
    never the system's health (permissions.can_read_health, as /api/v1/health)."""
    if not permissions.is_manager(request.user) and permissions.agent_teams(request.user):
        return redirect("tickets:my_queue")
    if not permissions.can_read_health(request.user):
        return render(request, "dashboard/no_overview.html",
                      {"can_ingest": permissions.can_ingest(request.user)})
    return render(request, "dashboard/home.html", {"overview": selectors.overview()})


@login_required
def kpis(request: HttpRequest) -> HttpResponse:
    if not permissions.can_read_kpis(request.user):
        raise PermissionDenied(_("The KPI pages are for managers."))
    view = kpi_view(request.GET, default=PAGE_PERIOD)
    report = selectors.kpi_report(filters=view.filters)
    tables = kpi_tables(report)
    export = request.GET.get("export", "")
    if export in tables:
        return _csv(export, *tables[export])
    query = request.GET.copy()
    query.pop("export", None)
    return render(request, "dashboard/kpis.html", {
        "elsewhere": _figures_elsewhere(report, view, request.GET),
        "view": view, "report": report, "tables": tables, "query": query.urlencode(),
        "vocabulary": vocabulary.VOCABULARY, "languages": vocabulary.LANGUAGES, "channels": vocabulary.CHANNELS,
        "periods": [*selectors.PERIODS, "all", "custom"],
        "charts": _charts(report), "open_statuses": TicketStatus.OPEN, "headline": _headline(report),
        "sentiment_colours": SENTIMENT_COLOURS})


def _figures_elsewhere(report: selectors.KpiReport, view, query) -> dict | None:
    """When the period holds no ticket but figures exist (historical data on "last 30
    days"), the days that hold them and the link that shows them, the labels kept."""
    if report.totals["tickets"] or view.period == "all":
        return None
    span = selectors.figures_span()
    if span is None:
        return None
    shown = query.copy()
    for name in ("export", "period", "from", "to"):
        shown.pop(name, None)
    shown.update({"period": "custom", "from": span[0].isoformat(), "to": span[1].isoformat()})
    return {"first": span[0], "last": span[1], "query": shown.urlencode()}


def _headline(report: selectors.KpiReport) -> list[tuple[str, str, float | None, str]]:
    """The service figures at the top of the page: (key, label, value, kind), kind saying how
    the value is written (a count, or a duration in seconds)."""
    totals = report.totals
    return [("tickets", _("tickets"), totals["tickets"], "count"), ("open", _("open"), totals["open"], "count"),
            ("resolved", _("resolved"), totals["resolved"], "count"),
            ("SLA breached", _("SLA breached"), totals["breached"], "count"),
            ("labels corrected by agents", _("labels corrected by agents"), totals["corrected"], "count"),
            ("responded", _("responded"), totals["responded"], "count"),
            ("mean first response", _("mean first response"), report.mean_response_s, "duration"),
            ("mean resolution", _("mean resolution"), report.mean_resolution_s, "duration"),
            ("rows quarantined", _("rows quarantined"), report.quarantined, "count")]


def kpi_tables(report: selectors.KpiReport) -> dict[str, tuple[list[str], list[list]]]:
    """Every table of the KPI page as (header, rows): shown on the page and exported as CSV."""
    shares = {name: (["value", "tickets", "share"], _share_rows(counter)) for name, counter in (
        ("topics", report.topics), ("sentiments", report.sentiments), ("urgencies", report.urgencies),
        ("teams", report.teams), ("channels", report.channels), ("providers", report.providers))}
    return {
        "volume": (["period start", "tickets analysed", "customer tweets", "brand tweets", "negative share"],
                   [[p["start"].isoformat(), p["tickets"], p["customer"], p["brand"],
                     "" if p["negative_share"] is None else round(p["negative_share"], 3)] for p in report.series]),
        **shares,
        "backlog": (["team", *TicketStatus.OPEN], [[team, *(counts.get(s, 0) for s in TicketStatus.OPEN)]
                                                  for team, counts in sorted(report.backlog.items())]),
        "service": (["figure", "value"], [
            ["tickets", report.totals["tickets"]], ["open", report.totals["open"]],
            ["resolved", report.totals["resolved"]], ["SLA breached", report.totals["breached"]],
            ["labels corrected by agents", report.totals["corrected"]],
            ["responded", report.totals["responded"]],
            ["mean first response (hours)", _hours(report.mean_response_s)],
            ["mean resolution (hours)", _hours(report.mean_resolution_s)],
            ["rows quarantined", report.quarantined]]),
        "cost": (["provider", "model", "calls", "tweets", "tokens in", "tokens out", "cost USD",
                  "cost USD at one tweet per call", "LLM calls saved", "tokens saved"],
                 [[line["provider"], line["model"], line["calls"], line["items"], line["tokens_in"],
                   line["tokens_out"], round(line["cost_usd"], 4), round(line["unbatched_cost_usd"], 4),
                   line.get("llm_calls_saved", 0), line.get("tokens_saved", 0)]
                  for line in report.ledger]),
        "agreement": (["tier", "field", "agreed with the agent", "corrected", "share"],
                      [[row.provider, row.field, row.agreed, row.total, round(row.share, 3)]
                       for row in report.agreement]),
    }


def _charts(report: selectors.KpiReport) -> dict:
    return {
        "labels": [p["start"].strftime("%Y-%m-%d %H:00" if report.grain == "h" else "%Y-%m-%d")
                   for p in report.series],
        "tickets": [p["tickets"] for p in report.series],
        "customer": [p["customer"] for p in report.series],
        "brand": [p["brand"] for p in report.series],
        "negative": [None if p["negative_share"] is None else round(100 * p["negative_share"], 1)
                     for p in report.series],
        "topics": dict(report.topics.most_common()),
        "sentiments": {s: report.sentiments[s] for s in vocabulary.SENTIMENTS if report.sentiments[s]},
        "sentiment_colours": SENTIMENT_COLOURS,
        "names": {"tickets": _("tickets analysed"), "customer": _("customer tweets"), "brand": _("brand tweets"),
                  "negative": _("negative share (%)"), "count": _("tickets")},
        "urgencies": {u: report.urgencies[u] for u in vocabulary.URGENCIES},
        "providers": dict(report.providers.most_common()),
        "backlog": {team: [report.backlog.get(team, {}).get(s, 0) for s in TicketStatus.OPEN]
                    for team in vocabulary.TEAMS if team in report.backlog},
        "backlog_statuses": [TicketStatus.label(s) for s in TicketStatus.OPEN],  # the backlog's columns
        "value_names": _value_names(),
    }


def _value_names() -> dict[str, str]:
    """The vocabulary values the charts show under another name in the reader's language
    (none in English, where the charts keep the values the tables and exports use)."""
    names = {value: str(vocabulary.name(value)) for values in vocabulary.VOCABULARY.values() for value in values}
    return {value: name for value, name in names.items() if name != value.replace("_", " ")}


def _share_rows(counter) -> list[list]:
    total = sum(counter.values())
    return [[value, count, round(count / total, 3) if total else 0] for value, count in counter.most_common()]


def _hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.1f}"


def _csv(name: str, header: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dallosh-{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
def alerts_panel(request: HttpRequest) -> HttpResponse:
    """The open alerts this user hears of: a fragment the pages include and refresh live."""
    return render(request, "dashboard/_alerts.html", {"alerts": selectors.alerts_for(user=request.user)})


@login_required
@require_POST
def acknowledge(request: HttpRequest, alert_id: str) -> HttpResponse:
    if not permissions.is_manager(request.user):
        raise PermissionDenied(_("Managers acknowledge alerts."))
    alerts.acknowledge_alert(alert_id=alert_id, user=request.user)
    return HttpResponseRedirect(_local_path(request, request.POST.get("next", "")) or reverse("home"))


def _local_path(request: HttpRequest, path: str) -> str:
    """`path` if it is a page of this site to go back to, else "": a `next` sent by hand must
    lead neither elsewhere (an open redirect) nor to an error (it is a path, never a view
    name to resolve)."""
    safe = path.startswith("/") and url_has_allowed_host_and_scheme(
        path, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return path if safe else ""
