"""What a ticket's history records: one name per kind of entry, with its sentence.

Every writer of an audit entry (agents' actions, the feed, routing, the SLA watch, analysis)
names it by an AuditAction; the ticket page reads each entry back as the member's sentence,
in the reader's language. A name spelled anywhere else is refused by the architecture test,
so a typo cannot write an entry that reads as the fallback.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from django.utils.translation import gettext as _

from dallosh import vocabulary


class AuditAction(StrEnum):
    # a person's actions
    CLAIMED = "claimed"
    RELEASED = "released"
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"
    LABELS_CORRECTED = "labels_corrected"
    CORRECTION_WITHDRAWN = "correction_withdrawn"
    REPLIED = "replied"
    REROUTED = "rerouted"
    NOTE_ADDED = "note_added"
    # the machine's
    ANALYSED = "analysed"
    REFINED = "refined"
    SUMMARISED = "summarised"
    SLA_BREACHED = "sla_breached"
    QUEUED = "queued"
    MARKED_UNSURE = "marked_unsure"
    # the feed's
    CUSTOMER_REPLIED = "customer_replied"
    BRAND_REPLIED = "brand_replied"
    MERGED = "merged"
    MERGED_INTO = "merged_into"

    def sentence(self, *, by: str, details: dict) -> str:
        """This entry as a sentence, in the active language."""
        return _SENTENCES[self](by, details)


def read(entry: dict) -> str:
    """One stored audit entry as a sentence; an action no longer known reads as its words."""
    by, details = entry.get("by", ""), entry.get("details") or {}
    try:
        action = AuditAction(entry.get("action"))
    except ValueError:
        return f"{by}: {value_name(entry.get('action'))} {changes(details)}".strip()
    return action.sentence(by=by, details=details)


def value_name(value: object) -> str:
    """A recorded value as people read it: vocabulary values in words, yes/no, "—" for none."""
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(vocabulary.name(value)) if isinstance(value, str) else str(value)


def changes(details: dict) -> str:
    """The fields that changed, "field: before → after", leaving out those that did not."""
    parts = [f"{value_name(field)}: {value_name(pair[0])} → {value_name(pair[1])}" for field, pair in details.items()
             if isinstance(pair, list | tuple) and len(pair) == 2 and pair[0] != pair[1]]
    return "; ".join(parts)


def tier_name(provider: str | None) -> str:
    """Who labelled a ticket: the fast tier (embeddings) or an LLM provider."""
    if not provider:
        return "—"
    return _("the fast tier") if provider == "fast" else _("the LLM (%(provider)s)") % {"provider": provider}


Sentence = Callable[[str, dict], str]

_SENTENCES: dict[AuditAction, Sentence] = {
    AuditAction.CLAIMED: lambda by, d: _("%(by)s took the ticket") % {"by": by},
    AuditAction.RELEASED: lambda by, d: _("%(by)s released the ticket") % {"by": by},
    AuditAction.ASSIGNED: lambda by, d: _("%(by)s handed the ticket to %(to)s") % {
        "by": by, "to": value_name((d.get("assignee") or [None, None])[1])},
    AuditAction.STATUS_CHANGED: lambda by, d: _("%(by)s changed the status (%(changes)s)") % {
        "by": by, "changes": changes(d)},
    AuditAction.LABELS_CORRECTED: lambda by, d: _("%(by)s corrected the labels (%(changes)s)") % {
        "by": by, "changes": changes(d)},
    AuditAction.CORRECTION_WITHDRAWN: lambda by, d: _(
        "%(by)s withdrew %(author)s's correction: the model's labels stand again (%(changes)s)") % {
        "by": by, "author": d.get("corrected_by") or "—", "changes": changes(d)},
    AuditAction.REPLIED: lambda by, d: _("%(by)s recorded a reply: “%(text)s”") % {"by": by,
                                                                                   "text": d.get("reply", "")},
    AuditAction.REROUTED: lambda by, d: _("%(by)s re-routed the ticket (%(changes)s)") % {
        "by": by, "changes": changes(d)},
    AuditAction.NOTE_ADDED: lambda by, d: _("%(by)s added a note") % {"by": by},
    AuditAction.ANALYSED: lambda by, d: _("Labelled by %(tier)s: team %(team)s, urgency %(urgency)s") % {
        "tier": tier_name(d.get("provider")), "team": value_name(d.get("team")),
        "urgency": value_name(d.get("urgency"))},
    AuditAction.REFINED: lambda by, d: _("Refined by %(tier)s") % {"tier": tier_name(d.get("provider"))},
    AuditAction.SUMMARISED: lambda by, d: _("Summary written"),
    AuditAction.SLA_BREACHED: lambda by, d: _("The response target passed"),
    AuditAction.QUEUED: lambda by, d: _("Placed in its queue"),
    AuditAction.MARKED_UNSURE: lambda by, d: _("Listed among the tickets the machine is unsure of"),
    AuditAction.CUSTOMER_REPLIED: lambda by, d: _("The customer wrote again: the ticket is open again"),
    AuditAction.BRAND_REPLIED: lambda by, d: _("We replied (in the feed): the ticket waits on the customer"),
    AuditAction.MERGED: lambda by, d: _(
        "An earlier tweet joined this conversation: ticket %(absorbed)s was merged here, with its notes "
        "(%(notes)s) and its people's work (%(changes)s)") % {
        "absorbed": d.get("absorbed", "—"), "notes": d.get("notes", 0), "changes": changes(d) or "—"},
    AuditAction.MERGED_INTO: lambda by, d: _("Merged into ticket %(into)s, which holds the whole conversation") % {
        "into": d.get("into", "—")},
}
