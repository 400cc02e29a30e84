"""Reply drafts, asked for from the ticket page: the analysis stage's own routes (mounted by
config/urls.py beside the ticket pages), so the ticket pages need not import it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from analysis.drafts import selectors as draft_selectors
from analysis.drafts import services as draft_services
from dallosh.middleware import wants_json
from tickets import selectors as ticket_selectors


@login_required
@require_POST
def request_draft(request: HttpRequest, ticket_id: str) -> HttpResponse:
    """Ask a refine worker for a suggested reply and answer at once (202 JSON to the page's
    script, else back to the ticket page): the provider chain may take minutes and may start
    the local model, so it never runs in a web request. The page shows "Drafting…", then the
    draft in the reply box; nothing is sent or stored on the ticket until the agent records
    a reply. Too many requests are refused with a message (429), never an error page."""
    ticket = ticket_selectors.visible_ticket(user=request.user, ticket_id=ticket_id)
    draft = draft_services.request_draft(ticket=ticket, user=request.user)  # refusals: dallosh.middleware
    if wants_json(request):
        return JsonResponse({"ok": True, "draft": {"id": str(draft.id), "status": draft.status},
                             "status_url": reverse("drafts:latest", kwargs={"ticket_id": ticket_id})}, status=202)
    return redirect("tickets:ticket", ticket_id=ticket_id)


@login_required
@require_GET
def latest_draft(request: HttpRequest, ticket_id: str) -> JsonResponse:
    """The user's latest draft for the ticket (null if none), for the page to poll while its
    socket is down or an event was missed."""
    ticket_selectors.visible_ticket(user=request.user, ticket_id=ticket_id)
    draft = draft_selectors.latest_draft(ticket_id=ticket_id, username=request.user.get_username())
    return JsonResponse({"draft": draft.as_json() if draft else None})
