"""One mapping from domain errors to HTTP, and one shape of refusal, for the API and pages."""

from __future__ import annotations

import pytest

from dallosh import errors
from tickets.errors import ActionForbidden, ActionRefused, ActionThrottled, TicketNotFound

pytestmark = pytest.mark.no_servers


@pytest.mark.parametrize(("error", "status"), [
    (TicketNotFound("twcs:1"), 404), (ActionForbidden("not yours"), 403), (ActionThrottled("wait"), 429),
    (ActionRefused("closed"), 409), (errors.Invalid("bad"), 400), (errors.Unavailable("down"), 503),
])
def test_each_kind_has_its_status_the_most_specific_first(error, status):
    assert errors.http_status(error) == status


def test_the_api_answers_a_refusal_and_the_frameworks_own_in_one_shape():
    from rest_framework.exceptions import NotAuthenticated

    refused = errors.api_exception_handler(ActionForbidden("Only the holder may release it."), {})
    assert (refused.status_code, refused.data) == (403, {"error": "Only the holder may release it."})
    framework = errors.api_exception_handler(NotAuthenticated("no token"), {})
    assert (framework.status_code, framework.data) == (401, {"error": "no token"})
