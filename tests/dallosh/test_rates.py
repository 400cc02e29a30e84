"""Fixed windows counted in MongoDB: every process sees the same count, and a new window
starts from nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dallosh import rates

NOON = datetime(2026, 12, 3, 12, 0, 10, tzinfo=UTC)


def test_counts_add_up_within_a_window_per_person_and_restart_in_the_next():
    assert [rates.count(what="notes", who="ana", now=NOON + timedelta(seconds=s)) for s in (0, 20, 40)] == [1, 2, 3]
    assert rates.current(what="notes", who="ana", now=NOON) == 3
    assert rates.current(what="notes", who="tom", now=NOON) == 0  # per person
    assert rates.current(what="drafts", who="ana", now=NOON) == 0  # per kind of thing
    assert rates.count(what="notes", who="ana", now=NOON + timedelta(minutes=1)) == 1  # the next minute


def test_a_window_of_a_quarter_hour_holds_the_quarter_hour():
    window = timedelta(minutes=15)
    start = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    for minute in (0, 7, 14):
        rates.count(what="login", who="ana", window=window, now=start + timedelta(minutes=minute))
    assert rates.current(what="login", who="ana", window=window, now=start + timedelta(minutes=14, seconds=59)) == 3
    assert rates.current(what="login", who="ana", window=window, now=start + timedelta(minutes=15)) == 0
