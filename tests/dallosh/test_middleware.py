"""One mapping from domain errors to HTTP, and one shape of refusal, for the API and pages."""

from __future__ import annotations

import pytest

from dallosh import middleware
from tickets.errors import ActionForbidden

pytestmark = pytest.mark.no_servers


def test_the_api_answers_a_refusal_and_the_frameworks_own_in_one_shape():
    from rest_framework.exceptions import NotAuthenticated

    refused = middleware.api_exception_handler(ActionForbidden("Only the holder may release it."), {})
    assert (refused.status_code, refused.data) == (403, {"error": "Only the holder may release it."})
    framework = middleware.api_exception_handler(NotAuthenticated("no token"), {})
    assert (framework.status_code, framework.data) == (401, {"error": "no token"})
