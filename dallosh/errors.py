"""Domain errors: what a stage raises when it refuses a request, and the one mapping to HTTP.

Services and selectors raise these and know nothing of HTTP: each says what kind of refusal
it is, and its message says why, for a person to read. The API's exception handler
(`api_exception_handler`) and the pages' middleware (dallosh.middleware.DomainErrors) answer
every one of them the same way: its status from `http_status`, and one JSON shape,
{"error": "<the sentence>"} (a malformed body: each field's problems under "error").
"""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A request refused; the message says why."""


class NotFound(DomainError):
    """Nothing there, or nothing the user may see (the two are not told apart)."""


class Invalid(DomainError):
    """The request itself is wrong: a value outside what is allowed."""


class Forbidden(DomainError):
    """The user may see it, but this is not theirs to do."""


class Conflict(DomainError):
    """Not allowed in the state things are in now (someone else holds it, it is closed...)."""


class Throttled(DomainError):
    """Refused for now: done too often; the message says when to try again."""


class Unavailable(DomainError):
    """A service it needs is down (the broker, a worker queue): try again later."""


# Most specific first: an error may be of several kinds (a forbidden action is also a refused
# one, drafts unavailable are also refused for now, an upload conflict is also bad input).
HTTP_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404), (Forbidden, 403), (Unavailable, 503), (Throttled, 429), (Conflict, 409), (Invalid, 400))


def http_status(error: DomainError) -> int:
    return next((status for kind, status in HTTP_STATUS if isinstance(error, kind)), 400)


def wants_json(request) -> bool:
    """A script (the API, a view that only speaks JSON, or a page's fetch asking for JSON),
    not a person's browser."""
    return (request.path_info.startswith("/api/") or getattr(request, "answers_json", False)
            or "application/json" in request.headers.get("Accept", ""))


def answers_json(view):
    """Mark a page view that only a script calls (the upload's slices): its refusals are JSON
    whatever the request accepts (dallosh.middleware.DomainErrors reads the mark)."""
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
