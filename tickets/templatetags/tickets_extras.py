"""Small display helpers for the back-office templates."""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.timesince import timesince
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

from ingestion.mail import AUTOMATED_KINDS
from ingestion.transcripts import personal_name
from tickets import audit
from tickets.models import TicketStatus

register = template.Library()

# Tickets written this long before we received them are replayed history: their age says
# nothing about our service, their date does.
HISTORY_AFTER = timedelta(days=1)


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
        return sign + _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return sign + _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return sign + _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def clock(seconds: float | None) -> str:
    """A moment of a call, or its length, as a player shows it: "4:05", "1:02:07"."""
    if seconds is None:
        return ""
    minutes, rest = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


register.filter("personal_name", personal_name)


@register.filter
def label(value: str | bool | None) -> str:
    """A vocabulary value as people read it, in their language: "customer service", "réseau",
    "yes"; a value outside the vocabulary is shown as it is (underscores read as spaces), none
    as nothing (the audit's reading, tickets/audit.value_name, shows it as "—")."""
    return "" if value in (None, "") else audit.value_name(value)


@register.filter
def labels(values) -> str:
    """Several label fields or values as people read them, in a sentence: "topic, urgency"."""
    return ", ".join(label(value) for value in values or ())


@register.filter
def change(value) -> str:
    """An audit value: [before, after] pairs read "before → after"."""
    if isinstance(value, list | tuple) and len(value) == 2:
        before, after = (str(part) if part not in (None, "") else "—" for part in value)
        return f"{before} → {after}"
    return str(value)


@register.filter
def count_capped(value: int, cap: int) -> str:
    """A count grouped by thousands the reader's way ("100,000+" in English, "100 000+" in
    French) where counting stopped at the cap."""
    if value >= cap:
        return f"{number_format(cap, force_grouping=True)}+"
    return number_format(value, force_grouping=True)


@register.filter
def percent(value) -> str:
    """A probability as a whole percentage: 0.873 → "87 %"; nothing where there is none
    (an answer without log-probabilities, an older analysis)."""
    return f"{round(value * 100)} %" if isinstance(value, int | float) and not isinstance(value, bool) else ""


@register.filter
def when(value: datetime | None) -> str:
    """A moment in the operator's time zone, with the zone named: "31/10/2017 11:20 CET"."""
    if not value:
        return "—"
    local = timezone.localtime(value)
    return f"{date_format(local, 'SHORT_DATETIME_FORMAT')} {local.strftime('%Z')}"


@register.filter
def written(ticket: dict) -> str:
    """How old a ticket is, as people read it: "3 hours" for a live one; "written 31/10/2017"
    for replayed history (written more than a day before we received it), where an age of
    years next to a fresh response target would mislead."""
    created, received = ticket.get("created_at"), ticket.get("ingested_at")
    if not created:
        return ""
    if received and received - created > HISTORY_AFTER:
        return _("written %(date)s") % {"date": date_format(timezone.localtime(created), "SHORT_DATE_FORMAT")}
    return _("%(age)s ago") % {"age": timesince(created, depth=1)}


@register.filter
def audit_line(entry: dict) -> str:
    """One audit entry as a sentence (tickets/audit.py)."""
    return audit.read(entry)


@register.filter
def tier_name(provider: str | None) -> str:
    """Who labelled a ticket: the fast tier (embeddings) or an LLM provider."""
    return audit.tier_name(provider)


@register.filter
def status_label(status: str | None) -> str:
    """A ticket status as people say it."""
    return TicketStatus.label(status)


@register.filter
def language_name(code: str | None) -> str:
    """"fr" → "French" (in the reader's language); "und" and unknown codes say so."""
    try:
        return get_language_info(code)["name_translated"] if code else _("unknown language")
    except KeyError:
        return _("unknown language") if code == "und" else code


@register.filter
def get_item(mapping: dict | None, key: str):
    """mapping[key] in a template (None when absent)."""
    return (mapping or {}).get(key)


@register.filter
def mail_automated(kind: str) -> str:
    """Why an automated e-mail is no request (auto-reply, bounce, mailing list), in words."""
    return str(AUTOMATED_KINDS.get(kind, kind))
