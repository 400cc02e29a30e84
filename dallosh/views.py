"""Pages every logged-in person has, whatever their role: their own API token. Thin: the
token's rules are in dallosh/tokens.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from dallosh import tokens


@never_cache  # the answer that shows a new key must not stay in any cache (no-store)
@login_required
@require_http_methods(["GET", "POST"])
def api_token(request: HttpRequest) -> HttpResponse:
    """GET: the person's token, masked. POST: make one and show it this once, in the answer
    itself (never kept in the session or sent again)."""
    fresh_key = None
    if request.method == "POST":
        try:
            fresh_key = tokens.create_token(request.user)
        except tokens.TokenExists:
            messages.error(request, _("You already have an API token; revoke it to make a new one."))
            return redirect("api_token")
        messages.success(request, _("Your API token is ready. Copy it now: it will not be shown again."))
    return render(request, "account/api_token.html",
                  {"token": tokens.token_summary(request.user), "fresh_key": fresh_key})


@login_required
@require_http_methods(["GET", "POST"])
def revoke_api_token(request: HttpRequest) -> HttpResponse:
    """GET asks for confirmation (scripts using the token will stop working); POST revokes."""
    if request.method == "GET":
        return render(request, "account/api_token_revoke.html", {"token": tokens.token_summary(request.user)})
    if tokens.revoke_token(request.user):
        messages.success(request, _("Your API token is revoked: scripts using it are now refused."))
    else:
        messages.info(request, _("You had no API token to revoke."))
    return redirect("api_token")
