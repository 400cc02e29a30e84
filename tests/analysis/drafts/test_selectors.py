"""Reply-draft reads (analysis/drafts/selectors.py): an agent's latest draft for a ticket, not
one asked for before a reply was recorded since, and one no worker wrote within 15 minutes
shown as failed (in the agent's language); the drafts in flight that count for the rate limit;
when the brand last replied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import translation

from analysis.drafts import selectors
from analysis.models import DraftStatus, ReplyDraft


def draft(*, status: str = DraftStatus.READY, username: str = "alice", ticket_id: str = "twcs:1",
          minutes_ago: float = 1, text: str | None = None) -> ReplyDraft:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).replace(microsecond=0)  # as MongoDB keeps it
    return ReplyDraft(ticket_id=ticket_id, requested_by=username, status=status, text=text, created_at=at,
                      updated_at=at, expires_at=at + timedelta(days=1), provider="openai", model="gpt").save()


def test_the_latest_draft_is_the_users_own_newest_for_that_ticket():
    assert selectors.latest_draft(ticket_id="twcs:1", username="alice") is None
    draft(minutes_ago=5, text="older")
    newest = draft(minutes_ago=2, text="Sorry about your line, please DM us.")
    draft(username="bob", minutes_ago=1, text="bob's")
    draft(ticket_id="twcs:2", minutes_ago=1, text="another ticket's")
    shown = selectors.latest_draft(ticket_id="twcs:1", username="alice")
    assert shown.as_json() == {
        "id": str(newest.id), "ticket": "twcs:1", "status": "ready", "text": "Sorry about your line, please DM us.",
        "provider": "openai", "model": "gpt", "problems": [], "error": "", "created_at": newest.created_at.isoformat(),
        "updated_at": newest.updated_at.isoformat()}
    assert not shown.in_flight


def test_a_draft_asked_for_before_the_last_reply_does_not_refill_the_box():
    draft(minutes_ago=10)
    replied = datetime.now(UTC) - timedelta(minutes=5)
    assert selectors.latest_draft(ticket_id="twcs:1", username="alice", replied_at=replied) is None
    asked_after = selectors.latest_draft(ticket_id="twcs:1", username="alice",
                                         replied_at=replied - timedelta(minutes=10))
    assert asked_after is not None and asked_after.status == "ready"


def test_a_draft_nobody_wrote_within_15_minutes_is_shown_failed_in_the_agents_language():
    draft(status=DraftStatus.WRITING, minutes_ago=16)
    shown = selectors.latest_draft(ticket_id="twcs:1", username="alice")
    assert (shown.status, shown.error, shown.in_flight) == ("failed", "no worker wrote it within 15 minutes", False)
    with translation.override("fr"):
        french = selectors.latest_draft(ticket_id="twcs:1", username="alice")
    assert french.error == "aucun worker ne l'a rédigé en 15 minutes"
    ReplyDraft.objects.update(set__status=DraftStatus.QUEUED, set__updated_at=datetime.now(UTC))
    assert selectors.latest_draft(ticket_id="twcs:1", username="alice").status == "queued", "touched since"
    draft(ticket_id="twcs:2", minutes_ago=60)
    assert selectors.latest_draft(ticket_id="twcs:2", username="alice").status == "ready", "a written one stands"


def test_only_fresh_drafts_in_flight_count_for_the_rate_limit():
    first = draft(status=DraftStatus.QUEUED, minutes_ago=3)
    draft(status=DraftStatus.WRITING, ticket_id="twcs:2", minutes_ago=1)
    draft(status=DraftStatus.QUEUED, ticket_id="twcs:3", minutes_ago=16)  # lost: no longer blocks
    draft(status=DraftStatus.READY, ticket_id="twcs:4", minutes_ago=1)
    draft(status=DraftStatus.FAILED, ticket_id="twcs:5", minutes_ago=1)
    draft(status=DraftStatus.QUEUED, username="bob", minutes_ago=1)
    assert selectors.drafts_in_flight(username="alice") == 2
    assert selectors.drafts_in_flight(username="alice", up_to=first.id) == 1, "of two racing, the first sees one"
    assert selectors.drafts_in_flight(username="carol") == 0


def test_the_last_reply_is_the_brands_latest_tweet_in_the_conversation():
    monday, tuesday, wednesday = (datetime(2026, 12, day, 9, tzinfo=UTC) for day in (7, 8, 9))
    conversation = [{"created_at": monday, "is_brand": False}, {"created_at": tuesday, "is_brand": True},
                    {"created_at": monday, "is_brand": True}, {"created_at": wednesday, "is_brand": False}]
    assert selectors.last_reply_at(conversation=conversation) == tuesday
    assert selectors.last_reply_at(conversation=[{"created_at": monday}]) is None
