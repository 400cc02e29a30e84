"""The reply drafts' store: each move is compare-and-set on the status it expects, so a
worker that lost a draft never writes over what another wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from analysis.drafts import store
from analysis.models import DraftStatus, ReplyDraft
from dallosh.mongo import as_utc

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)


def queued(*, ticket_id: str = "t1", username: str = "alice", created_at: datetime = NOW) -> ReplyDraft:
    return ReplyDraft(ticket_id=ticket_id, requested_by=username, status=DraftStatus.QUEUED, created_at=created_at,
                      updated_at=created_at, expires_at=created_at + timedelta(days=1)).save()


def test_a_draft_is_claimed_once_and_never_once_stale():
    draft, stale = queued(), queued(ticket_id="t2", created_at=NOW - timedelta(hours=1))
    after = NOW - timedelta(minutes=15)
    assert store.claim(key=draft.id, now=NOW, created_after=after)["status"] == DraftStatus.WRITING
    assert store.claim(key=draft.id, now=NOW, created_after=after) is None
    assert store.claim(key=stale.id, now=NOW, created_after=after) is None


def test_an_outcome_is_written_only_over_the_status_expected():
    draft = queued()
    assert store.finish(key=draft.id, fields={"status": DraftStatus.READY}, expected=DraftStatus.WRITING,
                        now=NOW) is None
    written = store.finish(key=draft.id, fields={"status": DraftStatus.FAILED, "error": "gone"},
                           expected=DraftStatus.QUEUED, now=NOW + timedelta(seconds=5))
    assert (written["status"], written["error"], as_utc(written["updated_at"])) == (
        DraftStatus.FAILED, "gone", datetime(2026, 12, 3, 9, 0, 5, tzinfo=UTC))


def test_the_latest_draft_and_those_in_flight_are_the_users_own():
    queued(created_at=NOW - timedelta(minutes=2))
    newest = queued(created_at=NOW)
    queued(username="bob", created_at=NOW + timedelta(minutes=1))
    assert store.latest(username="alice", ticket_id="t1")["_id"] == newest.id
    assert store.latest(username="alice", ticket_id="t9") is None
    assert store.count_in_flight(username="alice", updated_after=NOW - timedelta(minutes=15)) == 2
    assert store.count_in_flight(username="alice", updated_after=NOW - timedelta(minutes=1)) == 1
    assert store.count_in_flight(username="alice", updated_after=NOW - timedelta(minutes=15), up_to=newest.id) == 2
