"""The agents' back-office pages: thin, they read through selectors, write through services
and ask dallosh.permissions who may do what."""

from __future__ import annotations

from datetime import UTC, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from dallosh import permissions, vocabulary
from dallosh.middleware import wants_json
from tickets import actions, events, queue_pages, selectors, services, sla
from tickets.forms import CorrectionForm, queue_filters, queue_request
from tickets.models import TicketStatus


@login_required
@require_GET
def my_queue(request: HttpRequest) -> HttpResponse:
    teams = permissions.visible_teams(request.user)
    if not teams:
        raise PermissionDenied(_("You are not an agent of any team."))
    return redirect("tickets:queue", team=(permissions.agent_teams(request.user) or teams)[0])


def _to_do(counts: dict[str, int]) -> int:
    return sum(counts.get(status, 0) for status in TicketStatus.TO_DO)


@login_required
@require_GET
def queue(request: HttpRequest, team: str) -> HttpResponse:
    if not permissions.can_view_team(request.user, team):
        raise PermissionDenied(_("This queue belongs to another team."))
    view = queue_request(request.GET)  # a refused cursor: the first page, and view.error to say why
    page = queue_pages.queue_page(team=team, filters=view.filters, username=request.user.get_username(),
                                cursor=view.cursor)
    context = {"team": team, "filters": view.filters, "page": page, "rows": _rows(page.rows),
               "query": _filter_query(request), "now": datetime.now(UTC), "cursor_error": view.error}
    if request.GET.get("partial") == "rows":
        return render(request, "tickets/_queue_rows.html", context)
    backlog = selectors.backlog()
    context |= {"teams": [(t, _to_do(backlog.get(t, {}))) for t in permissions.visible_teams(request.user)],
                "status_counts": backlog.get(team, {}), "open_count": _to_do(backlog.get(team, {})),
                "waiting_count": backlog.get(team, {}).get(TicketStatus.WAITING_CUSTOMER, 0),
                "vocabulary": vocabulary.VOCABULARY, "languages": vocabulary.LANGUAGES, "channels": vocabulary.CHANNELS,
                "statuses": TicketStatus.LISTED, "other_teams": [t for t in vocabulary.TEAMS if t != team],
                "awaiting": selectors.awaiting_analysis() if not page.rows else None,
                "awaiting_cap": selectors.AWAITING_CAP, "queue_shortcuts": QUEUE_SHORTCUTS,
                "mine_count": selectors.held_by(username=request.user.get_username(), team=team),
                "unsure_count": selectors.unsure_open(team=team)}
    return render(request, "tickets/queue.html", context)


@login_required
@require_GET
def queue_row(request: HttpRequest, team: str, ticket_id: str) -> HttpResponse:
    """The row a live event announced, rendered like the page's rows, or 204 when the ticket
    no longer belongs to this view (another team, status or filter)."""
    if not permissions.can_view_team(request.user, team):
        raise PermissionDenied(_("This queue belongs to another team."))
    row = queue_pages.queue_row(ticket_id=ticket_id, team=team, filters=queue_filters(request.GET),
                              username=request.user.get_username())
    if row is None:
        return HttpResponse(status=204)
    return render(request, "tickets/_queue_rows.html", {"rows": _rows([row]), "team": team})


@login_required
@require_GET
def ticket_page(request: HttpRequest, ticket_id: str) -> HttpResponse:
    ticket = selectors.visible_ticket(user=request.user, ticket_id=ticket_id)
    return _ticket_page(request, ticket, conversation=selectors.conversation(ticket=ticket))


def _ticket_page(request: HttpRequest, ticket: dict, *, conversation: list[dict]) -> HttpResponse:
    """The ticket page of a ticket already read (and checked) by the view, with its conversation."""
    now = datetime.now(UTC)
    context = {"ticket": ticket, "ticket_id": ticket["_id"], "sla_left": sla.time_left(ticket, now), "now": now,
               "conversation": conversation, "offered": actions.offered(ticket=ticket, user=request.user),
               "agents": selectors.team_agents(team=ticket["team"]) if ticket.get("team") else [],
               "transitions": actions.statuses_offered(ticket=ticket, user=request.user),
               "other_teams": [t for t in vocabulary.TEAMS if t != ticket.get("team")],
               "correction_form": CorrectionForm.for_ticket(ticket), "label_fields": _label_fields(ticket),
               "audit": list(reversed(ticket.get("audit", []))), "notes": ticket.get("notes", []),
               "reply_max": services.reply_max_chars(channel=ticket.get("channel")),
               "sends_mail": selectors.replies_by_mail(ticket=ticket), "ticket_shortcuts": TICKET_SHORTCUTS}
    template = "tickets/_ticket_state.html" if request.GET.get("partial") == "state" else "tickets/ticket.html"
    return render(request, template, context)


LABEL_NAMES = {"sentiment": _("Sentiment"), "topic": _("Topic"), "urgency": _("Urgency"), "team": _("Team"),
               "actionable": _("Actionable")}
TICKET_SHORTCUTS = (("c", _("claim the ticket")), ("r", _("resolve it")), ("e", _("write the reply")),
                    ("n", _("write a note")), ("b", _("back to the queue")), ("?", _("show these shortcuts")))
QUEUE_SHORTCUTS = (("j / k", _("next / previous ticket")), ("o / Enter", _("open it")), ("x", _("select it")),
                   ("c", _("claim the selected tickets")), ("r", _("resolve the selected tickets")),
                   ("/", _("search")), ("?", _("show these shortcuts")))


def _label_fields(ticket: dict) -> list[dict]:
    """The model's labels beside an agent's correction (when it differs) and the tier's sureness."""
    analysis, correction = ticket.get("analysis") or {}, ticket.get("correction") or {}
    confidence = analysis.get("confidence") or {}
    return [{"name": name, "value": analysis.get(field), "confidence": confidence.get(field),
             "corrected": correction.get(field) if correction.get(field) not in (None, analysis.get(field)) else None}
            for field, name in LABEL_NAMES.items()]


@login_required
@require_POST
def ticket_action(request: HttpRequest, ticket_id: str, action: str) -> HttpResponse:
    """Run one action; answers JSON to scripts (Accept: application/json), else redirects back."""
    # A refusal is a domain error: dallosh.middleware.DomainErrors answers it (JSON, or back
    # to the page with the reason).
    ticket = actions.run(name=action, ticket_id=ticket_id, user=request.user, data=request.POST)
    if wants_json(request):
        return JsonResponse({"ok": True, "status": ticket["status"], "assignee": ticket.get("assignee"),
                             "team": ticket.get("team"), "version": ticket["version"]})
    if not permissions.can_view_ticket(request.user, ticket):  # re-routed out of the agent's reach
        messages.success(request, _("Ticket sent to the %(team)s team.") % {"team": ticket["team"]})
        return redirect("tickets:my_queue")
    return redirect("tickets:ticket", ticket_id=ticket_id)


@login_required
@require_POST
def bulk(request: HttpRequest, team: str) -> HttpResponse:
    if not permissions.can_view_team(request.user, team):
        raise PermissionDenied(_("This queue belongs to another team."))
    ticket_ids = request.POST.getlist("ticket")
    if not ticket_ids:
        messages.warning(request, _("Select at least one ticket first."))
        return redirect(reverse("tickets:queue", kwargs={"team": team}) + "?" + request.POST.get("query", ""))
    try:
        outcome = actions.run_bulk(name=request.POST.get("action", ""), ticket_ids=ticket_ids,
                                   user=request.user, data=request.POST)
    except services.ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, ngettext("%(count)d ticket done.", "%(count)d tickets done.",
                                           len(outcome.done)) % {"count": len(outcome.done)})
        for ticket_id, why in list(outcome.refused.items())[:10]:
            messages.warning(request, f"{ticket_id}: {why}")
    return redirect(reverse("tickets:queue", kwargs={"team": team}) + "?" + request.POST.get("query", ""))


def _rows(rows: list[dict]) -> list[dict]:
    """Rows as the templates show them (template names cannot start with an underscore)."""
    now = datetime.now(UTC)
    return [{**row, "id": row["_id"], "key": events.row_key(row), "sla_left": sla.time_left(row, now),
             **_analysis_facts(row.get("analysis") or {})} for row in rows]


def _analysis_facts(analysis: dict) -> dict:
    """What a queue row says of its analysis: the summary, the tier that labelled it and how
    sure it was of its least sure label."""
    confidence = analysis.get("confidence") or {}
    return {"summary": analysis.get("summary", ""), "review_flag": analysis.get("review_flag"),
            "tier": analysis.get("provider"), "sureness": min(confidence.values()) if confidence else None}


def _filter_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    for name in ("after", "partial"):
        query.pop(name, None)
    return query.urlencode()
