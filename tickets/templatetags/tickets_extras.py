"""Small display helpers for the back-office templates."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A short, signed span: "45 min", "3 h 10 min", "2 d 4 h"."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    return f"{sign}{minutes} min"


@register.filter
def label(value: str | bool | None) -> str:
    """A vocabulary value as people read it: "customer service", "yes"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value or "").replace("_", " ")


@register.filter
def change(value) -> str:
    """An audit value: [before, after] pairs read "before → after"."""
    if isinstance(value, list | tuple) and len(value) == 2:
        before, after = (str(part) if part not in (None, "") else "—" for part in value)
        return f"{before} → {after}"
    return str(value)


@register.filter
def count_capped(value: int, cap: int) -> str:
    """A count with thousands separators, "100,000+" where counting stopped at the cap."""
    return f"{cap:,}+" if value >= cap else f"{value:,}"


@register.filter
def percent(value) -> str:
    """A probability as a whole percentage: 0.873 → "87 %"; nothing where there is none
    (an answer without log-probabilities, an older analysis)."""
    return f"{round(value * 100)} %" if isinstance(value, int | float) and not isinstance(value, bool) else ""
