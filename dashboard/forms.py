"""KPI filters from a URL (so a view can be shared), parsed by a Django form: label values
outside their vocabulary are ignored, not trusted; a custom period whose dates are not
dates, or run backwards, is refused with a message (the page says it, the API answers 400)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from dallosh import vocabulary
from dallosh.bulk import EARLIEST
from dashboard.selectors import PERIODS, KpiFilters

DAY_FORMAT = "%Y-%m-%d"
LABELS = ("team", "topic", "sentiment", "language", "channel")
BAD_DATES = _("Custom period: give both dates as YYYY-MM-DD.")
BACKWARDS = _("Custom period: the end comes before the start.")


@dataclass(frozen=True)
class KpiView:
    filters: KpiFilters
    period: str  # a PERIODS key, "all" or "custom"
    error: str = ""


def _choices(values) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class KpiFilterForm(forms.Form):
    """The KPI page's and API's query parameters. `from` and `to` (a Python keyword, hence
    added below) are whole days, `to` included."""

    period = forms.ChoiceField(choices=_choices([*PERIODS, "all", "custom"]), required=False)
    team = forms.ChoiceField(choices=_choices(vocabulary.TEAMS), required=False)
    topic = forms.ChoiceField(choices=_choices(vocabulary.TOPICS), required=False)
    sentiment = forms.ChoiceField(choices=_choices(vocabulary.SENTIMENTS), required=False)
    language = forms.ChoiceField(choices=_choices(vocabulary.LANGUAGES), required=False)
    channel = forms.ChoiceField(choices=_choices(vocabulary.CHANNELS), required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("period") != "custom":
            return data
        first, last = data.get("from"), data.get("to")
        if first is None or last is None:  # missing, or not a YYYY-MM-DD date
            raise forms.ValidationError(BAD_DATES)
        if last < first:
            raise forms.ValidationError(BACKWARDS)
        return data


KpiFilterForm.base_fields |= {name: forms.DateField(required=False, input_formats=[DAY_FORMAT])
                              for name in ("from", "to")}


def kpi_view(query: QueryDict, *, now: datetime | None = None, default: str = "all") -> KpiView:
    """The view a URL asks for; without a period (or with a custom one that does not parse),
    the `default` period: the API's is all time, the page's the last 30 days."""
    now = now or datetime.now(UTC)
    form = KpiFilterForm(query)
    form.is_valid()
    data = form.cleaned_data  # the fields that parsed: a label outside the vocabulary is left out
    labels = {name: data.get(name) or "" for name in LABELS}
    period = data.get("period") or default
    if period in PERIODS:
        return KpiView(KpiFilters(start=now - PERIODS[period], end=None, **labels), period)
    if period == "custom":
        if form.non_field_errors():
            fallback = kpi_view(QueryDict(), now=now, default=default)
            return KpiView(replace(fallback.filters, **labels), fallback.period, error=form.non_field_errors()[0])
        start, end = custom_period(data["from"], data["to"], now=now)
        return KpiView(KpiFilters(start=start, end=end, **labels), "custom")
    return KpiView(KpiFilters(start=None, end=None, **labels), "all")


def custom_period(first: date, last: date, *, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the days first..last, clamped to the days figures can exist on: none
    before EARLIEST, none after today. Clamping keeps "to 9999-12-31" meaning "up to now"
    (its next midnight does not exist), and a period wholly in the future comes out empty."""
    last = min(last, now.astimezone(UTC).date())
    end = datetime.combine(last, time(), tzinfo=UTC) + timedelta(days=1)
    start = max(datetime.combine(first, time(), tzinfo=UTC), EARLIEST)
    return min(start, end), end
