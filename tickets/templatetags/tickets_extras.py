"""Small display helpers for the back-office templates."""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.timesince import timesince
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _

from dallosh import vocabulary

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
def label(value: str | bool | None) -> str:
    """A vocabulary value as people read it, in their language: "customer service", "réseau",
    "yes"; a value outside the vocabulary is shown as it is (underscores read as spaces)."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(vocabulary.name(str(value or "")))


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


def _value(value) -> str:
    if value in (None, ""):
        return "—"
    return label(value) if isinstance(value, str | bool) else str(value)


def _changes(details: dict) -> str:
    """The fields that changed, "field: before → after", leaving out those that did not."""
    parts = [f"{label(field)}: {_value(pair[0])} → {_value(pair[1])}" for field, pair in details.items()
             if isinstance(pair, list | tuple) and len(pair) == 2 and pair[0] != pair[1]]
    return "; ".join(parts)


AUDIT_SENTENCES = {
    "claimed": lambda by, d: _("%(by)s took the ticket") % {"by": by},
    "released": lambda by, d: _("%(by)s released the ticket") % {"by": by},
    "assigned": lambda by, d: _("%(by)s handed the ticket to %(to)s") % {"by": by, "to": _value((d.get("assignee")
                                                                                               or [None, None])[1])},
    "status_changed": lambda by, d: _("%(by)s changed the status (%(changes)s)") % {"by": by,
                                                                                   "changes": _changes(d)},
    "labels_corrected": lambda by, d: _("%(by)s corrected the labels (%(changes)s)") % {"by": by,
                                                                                       "changes": _changes(d)},
    "correction_withdrawn": lambda by, d: _("%(by)s withdrew %(author)s's correction: the model's labels stand "
                                            "again (%(changes)s)") % {"by": by,
                                                                      "author": d.get("corrected_by") or "—",
                                                                      "changes": _changes(d)},
    "replied": lambda by, d: _("%(by)s recorded a reply: “%(text)s”") % {"by": by, "text": d.get("reply", "")},
    "rerouted": lambda by, d: _("%(by)s re-routed the ticket (%(changes)s)") % {"by": by, "changes": _changes(d)},
    "note_added": lambda by, d: _("%(by)s added a note") % {"by": by},
    "analysed": lambda by, d: _("Labelled by %(tier)s: team %(team)s, urgency %(urgency)s") % {
        "tier": tier_name(d.get("provider")), "team": _value(d.get("team")), "urgency": _value(d.get("urgency"))},
    "refined": lambda by, d: _("Refined by %(tier)s") % {"tier": tier_name(d.get("provider"))},
    "summarised": lambda by, d: _("Summary written"),
    "sla_breached": lambda by, d: _("The response target passed"),
    "customer_replied": lambda by, d: _("The customer wrote again: the ticket is open again"),
    "brand_replied": lambda by, d: _("We replied (in the feed): the ticket waits on the customer"),
    "queued": lambda by, d: _("Placed in its queue"),
    "merged": lambda by, d: _("An earlier tweet joined this conversation: ticket %(absorbed)s was merged here, with "
                              "its notes (%(notes)s) and its people's work (%(changes)s)") % {
        "absorbed": d.get("absorbed", "—"), "notes": d.get("notes", 0), "changes": _changes(d) or "—"},
    "merged_into": lambda by, d: _("Merged into ticket %(into)s, which holds the whole conversation") % {
        "into": d.get("into", "—")},
    "marked_unsure": lambda by, d: _("Listed among the tickets the machine is unsure of"),
}


@register.filter
def audit_line(entry: dict) -> str:
    """One audit entry as a sentence; system writers ("system:analysis") are named by what they did."""
    by = entry.get("by", "")
    sentence = AUDIT_SENTENCES.get(entry.get("action"))
    if sentence is None:
        return f"{by}: {label(entry.get('action'))} {_changes(entry.get('details') or {})}".strip()
    return sentence(by, entry.get("details") or {})


@register.filter
def tier_name(provider: str | None) -> str:
    """Who labelled a ticket: the fast tier (embeddings) or an LLM provider."""
    if not provider:
        return "—"
    return _("the fast tier") if provider == "fast" else _("the LLM (%(provider)s)") % {"provider": provider}


@register.filter
def status_label(status: str | None) -> str:
    """A ticket status as people say it."""
    names = {"new": _("new"), "in_progress": _("in progress"), "waiting_customer": _("waiting on customer"),
             "resolved": _("resolved"), "merged": _("merged")}
    return names.get(status or "", label(status))


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
