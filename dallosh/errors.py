"""Domain errors: what a stage raises when it refuses a request, and the one mapping to HTTP.

Services and selectors raise these and know nothing of HTTP (nor does this module): each
says what kind of refusal it is, and its message says why, for a person to read.
dallosh/middleware.py answers every one of them the same way, for the API (its exception
handler) and the pages: its status from `http_status`, and one JSON shape,
{"error": "<the sentence>"} (a malformed body: each field's problems under "error").
"""

from __future__ import annotations


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
