"""Each kind of domain error has its HTTP status, the most specific kind first."""

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
