"""Reply-draft reads: an agent's latest draft for a ticket, as the page and its JSON status
show it, and the drafts an agent has in flight (the rate limit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bson import ObjectId
from django.utils.translation import gettext as _

from analysis.drafts import STALE_AFTER, store
from analysis.models import DraftStatus
from dallosh.mongo import as_utc


@dataclass(frozen=True)
class DraftView:
    id: str
    ticket_id: str
    status: str  # queued | writing | ready | failed
    text: str
    provider: str
    model: str
    problems: tuple[str, ...]
    error: str
    created_at: datetime
    updated_at: datetime

    @property
    def in_flight(self) -> bool:
        return self.status in DraftStatus.IN_FLIGHT

    def as_json(self) -> dict:
        return {"id": self.id, "ticket": self.ticket_id, "status": self.status, "text": self.text,
                "provider": self.provider, "model": self.model, "problems": list(self.problems),
                "error": self.error, "created_at": self.created_at.isoformat(),
                "updated_at": self.updated_at.isoformat()}


def latest_draft(*, ticket_id: str, username: str, replied_at: datetime | None = None) -> DraftView | None:
    """The user's latest draft for the ticket, or None. One asked for before `replied_at` (a
    reply recorded since) is None: it was used or set aside, and must not refill the box.
    One in flight for longer than STALE_AFTER is shown as failed: no worker will write it."""
    document = store.latest(username=username, ticket_id=ticket_id)
    if document is None:
        return None
    draft = _view(document)
    if replied_at is not None and draft.created_at <= as_utc(replied_at):
        return None
    if draft.in_flight and draft.updated_at < datetime.now(UTC) - STALE_AFTER:
        minutes = int(STALE_AFTER.total_seconds() // 60)
        return DraftView(**{**draft.__dict__, "status": DraftStatus.FAILED,
                            "error": _("no worker wrote it within %(minutes)d minutes") % {"minutes": minutes}})
    return draft


def drafts_in_flight(*, username: str, up_to: ObjectId | None = None) -> int:
    """How many of the user's drafts are queued or being written (not stale); with `up_to`,
    only those recorded up to that one: of two requests racing, the later one sees both."""
    return store.count_in_flight(username=username, updated_after=datetime.now(UTC) - STALE_AFTER, up_to=up_to)


def last_reply_at(*, conversation: list[dict]) -> datetime | None:
    """When the brand last replied in the conversation (a reply recorded by an agent)."""
    return max((t["created_at"] for t in conversation if t.get("is_brand")), default=None)


def _view(document: dict) -> DraftView:
    return DraftView(id=str(document["_id"]), ticket_id=document["ticket_id"], status=document["status"],
                     text=document.get("text") or "", provider=document.get("provider") or "",
                     model=document.get("model") or "", problems=tuple(document.get("problems") or ()),
                     error=document.get("error") or "", created_at=as_utc(document["created_at"]),
                     updated_at=as_utc(document["updated_at"]))


