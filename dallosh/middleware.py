"""People never see a debug page, even on the embedded default (which runs with DEBUG on),
and every refusal a stage raises (dallosh/errors.py) is answered the same way on the pages
(DomainErrors) and the API (api_exception_handler).

Without DEBUG, Django renders templates/403.html, 404.html and 500.html itself; with it,
it would show its technical pages (the 404 lists every URL of the site). Under DEBUG this
middleware renders the same styled pages instead, and answers JSON to API clients; the
traceback of an error still goes to the log.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import MiddlewareNotUsed, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from rest_framework.response import Response
from rest_framework.views import exception_handler

from dallosh.errors import DomainError, Forbidden, NotFound, http_status

logger = logging.getLogger("django.request")

MESSAGES = {403: "You are not allowed to see this page.", 404: "There is nothing at this address.",
            500: "Something went wrong on our side; it has been logged."}


class FriendlyErrorPages:
    def __init__(self, get_response) -> None:
        if not settings.DEBUG:
            raise MiddlewareNotUsed  # Django's own handlers already render the styled pages
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            resolve(request.path_info)
        except Resolver404:
            if not request.path_info.endswith("/") and _resolves(request.path_info + "/"):
                return self.get_response(request)  # CommonMiddleware's APPEND_SLASH redirect
            return error_page(request, 404)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse:
        if isinstance(exception, Http404):
            return error_page(request, 404)
        if isinstance(exception, PermissionDenied):
            return error_page(request, 403, reason=str(exception))
        logger.error("Internal Server Error: %s", request.path, exc_info=exception)
        return error_page(request, 500)


class DomainErrors:
    """A refusal a page's view let through (dallosh/errors.py), answered as the API answers
    it: {"error": …} with its status to a script; to a person, the 404 or 403 page, or for a
    refused form the page they came from with the reason as a message."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        request.answers_json = getattr(view_func, "answers_json", False)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        if wants_json(request) or isinstance(exception, NotFound | Forbidden):
            return error_page(request, http_status(exception), reason=str(exception))
        messages.error(request, str(exception))
        back = request.headers.get("Referer", "")
        safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure())
        return redirect(back if back and safe else "/")


def error_page(request: HttpRequest, status: int, *, reason: str = "") -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"error": reason or MESSAGES.get(status, "")}, status=status)
    # As Django's own handlers: the 500 page is rendered without the request's context.
    return HttpResponse(render_to_string(f"{status}.html", {"exception": reason},
                                         request=request if status != 500 else None), status=status)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def wants_json(request) -> bool:
    """A script (the API, a view that only speaks JSON, or a page's fetch asking for JSON),
    not a person's browser."""
    return (request.path_info.startswith("/api/") or getattr(request, "answers_json", False)
            or "application/json" in request.headers.get("Accept", ""))


def answers_json(view):
    """Mark a page view that only a script calls (the upload's slices): its refusals are JSON
    whatever the request accepts (DomainErrors reads the mark)."""
    view.answers_json = True
    return view


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with domain errors mapped by kind and every refusal in one shape."""
    if isinstance(exc, DomainError):
        return Response({"error": str(exc)}, status=http_status(exc))
    response = exception_handler(exc, context)
    if response is not None and not (isinstance(response.data, dict) and "error" in response.data):
        data = response.data
        response.data = {"error": data["detail"] if isinstance(data, dict) and set(data) == {"detail"} else data}
    return response
