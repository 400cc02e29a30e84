"""KPI filters from a URL (so a view can be shared); unknown values are ignored, not trusted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.http import QueryDict

from analysis import schema
from dashboard.selectors import PERIODS, KpiFilters
from ingestion.cleaning import LANGUAGES


@dataclass(frozen=True)
class KpiView:
    filters: KpiFilters
    period: str  # a PERIODS key, "all" or "custom"
    error: str = ""


def kpi_view(query: QueryDict, *, now: datetime | None = None) -> KpiView:
    now = now or datetime.now(UTC)

    def pick(name: str, allowed) -> str:
        value = query.get(name, "")
        return value if value in allowed else ""

    labels = {"team": pick("team", schema.TEAMS), "topic": pick("topic", schema.TOPICS),
              "sentiment": pick("sentiment", schema.SENTIMENTS), "language": pick("language", LANGUAGES)}
    period = query.get("period", "all")
    if period in PERIODS:
        return KpiView(KpiFilters(start=now - PERIODS[period], end=None, **labels), period)
    if period == "custom":
        try:
            start = _day(query.get("from", ""))
            end = _day(query.get("to", "")) + timedelta(days=1)  # "to" is inclusive
        except ValueError:
            return KpiView(KpiFilters(start=None, end=None, **labels), "all",
                           error="Custom period: give both dates as YYYY-MM-DD.")
        if end <= start:
            return KpiView(KpiFilters(start=None, end=None, **labels), "all",
                           error="Custom period: the end comes before the start.")
        return KpiView(KpiFilters(start=start, end=end, **labels), "custom")
    return KpiView(KpiFilters(start=None, end=None, **labels), "all")


def _day(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
