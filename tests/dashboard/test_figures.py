"""dashboard/templatetags/figures.py: one way to write each kind of figure on the KPI pages,
through Django's localisation (English "1,204" and "42.0%", French "1 204" and "42,0 %"),
blank kept blank, durations in their two largest units."""

import pytest
from django.template import Context, Template
from django.utils.translation import override

from dashboard.templatetags.figures import count, duration, percent, usd

pytestmark = pytest.mark.no_servers

NBSP = "\xa0"  # the French thousands separator


def test_counts_shares_and_costs_are_written_for_the_readers_language():
    with override("en"):
        assert (count(1204), count(0), percent(0.42), percent(0), usd(0.00123)) == (
            "1,204", "0", "42.0%", "0.0%", "0.0012")
    with override("fr"):
        assert (count(1204), percent(0.42), usd(0.00123)) == (f"1{NBSP}204", "42,0 %", "0,0012")


def test_a_figure_that_does_not_exist_stays_blank_not_zero():
    for blank in ("", None):
        assert (count(blank), percent(blank), usd(blank), duration(blank)) == ("", "", "", "")


@pytest.mark.parametrize(("seconds", "english", "french"), [
    (45, "45 s", "45 s"),
    (59.6, "1 min", "1 min"),  # rounded to the second first
    (12 * 60, "12 min", "12 min"),
    (3 * 3600 + 5 * 60 + 20, "3 h 05 min", "3 h 05 min"),
    (2 * 86400 + 4 * 3600 + 59 * 60, "2 d 4 h", "2 j 4 h"),
    (1204 * 86400, "1,204 d 0 h", f"1{NBSP}204 j 0 h"),
])
def test_durations_read_in_their_two_largest_units(seconds, english, french):
    with override("en"):
        assert duration(seconds) == english
    with override("fr"):
        assert duration(seconds) == french


def test_templates_load_the_filters_and_tables_wear_the_charts_colours():
    page = Template('{% load figures %}{{ n|count }} {{ s|percent }} {{ colours|colour_of:"negative" }}'
                    '|{{ colours|colour_of:"mixed" }}|{{ none|colour_of:"negative" }}')
    with override("en"):
        rendered = page.render(Context({"n": 98765, "s": 0.125, "colours": {"negative": "#b42318"}, "none": None}))
    assert rendered == "98,765 12.5% #b42318||"
