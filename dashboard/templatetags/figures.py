"""One format per kind of figure on the KPI pages, through Django's localisation (so a
French page later reads "1 204" and "42,0 %"): counts grouped by thousands, shares as
percentages with one decimal, durations in words a person reads at a glance."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def count(value) -> str:
    """1204 → "1,204"; blank stays blank (a figure that does not exist is not zero)."""
    return "" if value in ("", None) else floatformat(value, "0g")


@register.filter
def percent(share) -> str:
    """A share from 0 to 1 → "42.0%"."""
    if share in ("", None):
        return ""
    return _("%(value)s%%") % {"value": floatformat(100 * share, "1g")}


@register.filter
def usd(value) -> str:
    """Model costs are fractions of a cent a call: four decimals."""
    return "" if value in ("", None) else floatformat(value, "4g")


@register.filter
def duration(seconds) -> str:
    """Seconds → "45 s", "12 min", "3 h 05 min", "2 d 4 h": the two largest units."""
    if seconds in ("", None):
        return ""
    seconds = round(seconds)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if days:
        return _("%(days)s d %(hours)s h") % {"days": count(days), "hours": hours % 24}
    if hours:
        return _("%(hours)s h %(minutes)02d min") % {"hours": hours, "minutes": minutes % 60}
    if minutes:
        return _("%(minutes)s min") % {"minutes": minutes}
    return _("%(seconds)s s") % {"seconds": seconds}


@register.filter
def colour_of(colours: dict | None, value: str) -> str:
    """A label's colour in a {label: colour} map ("" if none): tables wear the charts' colours."""
    return (colours or {}).get(value, "")
