"""People never see a debug page, even on the embedded default (which runs with DEBUG on).

Without DEBUG, Django renders templates/403.html, 404.html and 500.html itself; with it,
it would show its technical pages (the 404 lists every URL of the site). Under DEBUG this
middleware renders the same styled pages instead, and answers JSON to API clients; the
traceback of an error still goes to the log.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

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


def error_page(request: HttpRequest, status: int, *, reason: str = "") -> HttpResponse:
    if request.path_info.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"error": reason or MESSAGES[status]}, status=status)
    # As Django's own handlers: the 500 page is rendered without the request's context.
    return HttpResponse(render_to_string(f"{status}.html", {"exception": reason},
                                         request=request if status != 500 else None), status=status)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True
