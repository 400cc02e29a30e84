"""dashboard/forms.py: the KPI view a shared URL asks for. Label values outside the vocabulary
are dropped, not trusted; a named period runs back from now; a custom one covers whole days,
`to` included; a custom period that does not parse or runs backwards is refused with a
message (English or French) and the caller's default period is shown instead, labels kept.
(The clamping of custom days to EARLIEST..today is tested in tests/config/test_no_500.py.)"""

from datetime import UTC, datetime, timedelta

import pytest
from django.http import QueryDict
from django.utils.translation import override

from dashboard.forms import kpi_view
from dashboard.selectors import KpiFilters

pytestmark = pytest.mark.no_servers

NOW = datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def view(query: str, **options):
    return kpi_view(QueryDict(query), now=NOW, **options)


def test_a_named_period_runs_back_from_now_and_no_period_is_the_callers_default():
    assert view("period=7d&team=tech") == view("team=tech", default="7d")
    seven_days = view("period=7d&team=tech")
    assert (seven_days.period, seven_days.error) == ("7d", "")
    assert seven_days.filters == KpiFilters(start=NOW - timedelta(days=7), end=None, team="tech")
    api = view("")  # the API's default: all time
    assert (api.period, api.filters) == ("all", KpiFilters(start=None, end=None))
    assert view("", default="30d").filters.start == NOW - timedelta(days=30)  # the page's


def test_label_values_outside_the_vocabulary_are_dropped_and_the_others_kept():
    shown = view("team=marketing&topic=billing&sentiment=furious&language=fr&period=forever")
    assert shown.period == "all" and shown.error == ""
    assert shown.filters == KpiFilters(start=None, end=None, team="", topic="billing", sentiment="", language="fr")


def test_a_custom_period_covers_whole_days_the_last_one_included():
    shown = view("period=custom&from=2017-10-30&to=2017-10-31&sentiment=negative")
    assert (shown.period, shown.error) == ("custom", "")
    assert shown.filters == KpiFilters(start=datetime(2017, 10, 30, tzinfo=UTC), end=datetime(2017, 11, 1, tzinfo=UTC),
                                       sentiment="negative")


@pytest.mark.parametrize("dates", ["", "from=2017-10-30", "from=2017-10-30&to=yesterday",
                                   "from=30/10/2017&to=2017-11-01"])
def test_a_custom_period_without_two_dates_is_refused_and_the_default_shown(dates):
    shown = view(f"period=custom&{dates}&team=billing", default="30d")
    assert shown.error == "Custom period: give both dates as YYYY-MM-DD."
    assert shown.period == "30d"
    assert shown.filters == KpiFilters(start=NOW - timedelta(days=30), end=None, team="billing")


def test_a_custom_period_that_runs_backwards_is_refused_in_the_readers_language():
    with override("fr"):
        backwards = view("period=custom&from=2017-11-01&to=2017-10-31")
        unparsed = view("period=custom&from=2017-11-01&to=demain")
    assert (backwards.period, backwards.filters) == ("all", KpiFilters(start=None, end=None))
    assert str(backwards.error) == "Période personnalisée : la fin précède le début."
    assert str(unparsed.error) == "Période personnalisée : indiquez les deux dates au format AAAA-MM-JJ."
