"""What an alert says, in its reader's language: one sentence per kind of rule, filled from
the figures the alert stores. The English sentence is also stored as the alert's `message`
when it is raised (the API, the history); pages write the sentence anew for whoever reads
it, so a French agent reads French whatever language the worker ran in."""

from __future__ import annotations

from django.utils.translation import gettext, override

from dallosh.vocabulary import name
from dashboard.models import AlertKind


def alert_sentence(*, kind: str, figures: dict, team: str | None) -> str:
    """The sentence for these figures; KeyError when the figures lack one it needs (an alert
    raised before the sentences were written from figures)."""
    values = {**figures, "team": name(team) if team else ""}
    if kind == AlertKind.HIGH_URGENCY_SHARE:
        return gettext("%(share).0f %% of the last %(window)s min's %(tickets)s tickets are high urgency "
                       "(threshold %(threshold)s %%).") % values
    if kind == AlertKind.TEAM_BACKLOG:
        return (gettext("%(open)s open tickets in the %(team)s team's queue (threshold %(threshold)s).") if team
                else gettext("%(open)s open tickets in the queues (threshold %(threshold)s).")) % values
    if kind == AlertKind.SLA_BREACHES:
        return (gettext("%(breached)s open tickets of the %(team)s team are past their response target "
                        "(threshold %(threshold)s).") if team
                else gettext("%(breached)s open tickets are past their response target (threshold %(threshold)s).")
                ) % values
    if kind == AlertKind.OUTAGE_BURST:
        return gettext("Possible outage: %(complaints)s network complaints in %(window)s min, usually %(usual).1f "
                       "(%(top)s).") % values
    raise KeyError(kind)


def stored_message(*, kind: str, figures: dict, team: str | None) -> str:
    """The sentence in English, as the alert stores it."""
    with override("en"):
        return alert_sentence(kind=kind, figures=figures, team=team)
