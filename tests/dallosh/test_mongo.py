"""Dates read back from MongoDB are aware UTC, whatever the connection hands back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dallosh.mongo import as_utc

pytestmark = pytest.mark.no_servers


def test_a_naive_date_is_taken_as_utc_and_an_aware_one_is_kept():
    assert as_utc(datetime(2017, 10, 31, 10, 5)) == datetime(2017, 10, 31, 10, 5, tzinfo=UTC)
    paris = datetime(2017, 10, 31, 11, 5, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(paris) is paris and as_utc(paris) == datetime(2017, 10, 31, 10, 5, tzinfo=UTC)
