"""Reply-draft writes: the web request records a request and hands it to a refine worker;
the worker writes the draft and announces it after each write.

The web side never imports the provider chain: the request is a small document and a
task in the broker, answered in milliseconds whatever the LLM tiers are doing.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId
from django.utils.translation import gettext as _

from analysis import drafts
from analysis.drafts import selectors, store
from analysis.models import DraftStatus, ReplyDraft
from analysis.work import REFINE_CLUSTER  # where the LLM work lives
from dallosh import live, rates
from dallosh.errors import Throttled, Unavailable
from ingestion.selectors import customer_words
from tickets import selectors as ticket_selectors

logger = logging.getLogger("dallosh.analysis")


RATE = "reply-drafts"  # drafts asked for a minute, per agent (dallosh/rates)


class DraftRefused(Throttled):
    """A draft request that is not taken for now, with what to tell the agent."""


class DraftsUnavailable(DraftRefused, Unavailable):
    """No draft can be asked for: the worker queue is unreachable."""


def request_draft(*, ticket: dict, user) -> ReplyDraft:
    """Record the user's request for a draft of a reply to `ticket` (already checked visible
    to them) and queue it for a refine worker. Refused (DraftRefused) when the user already
    has MAX_IN_FLIGHT drafts in flight or asked PER_MINUTE times this minute (each draft
    costs LLM time the refinement queue needs), or when the broker cannot be reached."""
    username = user.get_username()
    if rates.current(what=RATE, who=username) >= drafts.PER_MINUTE:
        raise DraftRefused(_("You asked for %(count)d drafts within a minute; wait a moment, then ask again.")
                           % {"count": drafts.PER_MINUTE})
    busy = _("A draft you asked for is still being written; it fills the reply box when it is ready. "
             "Ask for another once it is there.")
    if selectors.drafts_in_flight(username=username) >= drafts.MAX_IN_FLIGHT:
        raise DraftRefused(busy)
    now = datetime.now(UTC)
    draft = ReplyDraft(ticket_id=ticket["_id"], requested_by=username, status=DraftStatus.QUEUED, created_at=now,
                       updated_at=now, expires_at=now + drafts.EXPIRE_AFTER).save()
    if selectors.drafts_in_flight(username=username, up_to=draft.id) > drafts.MAX_IN_FLIGHT:
        draft.delete()  # another request of this user was recorded just before this one
        raise DraftRefused(busy)
    rates.count(what=RATE, who=username)  # counted across processes (dallosh/rates)
    try:
        from django_q.tasks import async_task

        async_task(drafts.TASK, str(draft.id), cluster=REFINE_CLUSTER, group="drafts")
    except Exception as error:  # the broker (Redis) is down: tell the agent, never a 500
        logger.exception("could not queue reply draft %s", draft.id)
        _finish(draft.id, {"status": DraftStatus.FAILED, "error": f"could not be queued: {error}"[:500]},
                expected=DraftStatus.QUEUED)
        raise DraftsUnavailable(_("Drafts cannot be asked for right now (the worker queue is unreachable); write "
                                  "the reply yourself or try again later.")) from error
    return draft


def write_draft(*, draft_id: str) -> str:
    """On a refine worker: claim the queued draft, have the provider chain write it, store it,
    and announce each step after its write, so the requester's page shows "Drafting…" then
    fills the reply box. Returns the final status, or "skipped" for a draft that is gone
    (expired, its test data cleaned), already taken, or queued for longer than STALE_AFTER
    (its page already says it failed, and the agent may have asked again)."""
    from analysis import replies  # the provider chain: imported by workers only, never by a web process

    try:
        key = ObjectId(draft_id)
    except InvalidId:
        return "skipped"
    now = datetime.now(UTC)
    claimed = store.claim(key=key, now=now, created_after=now - drafts.STALE_AFTER)
    if claimed is None:
        return "skipped"
    _announce(claimed)
    try:
        ticket = ticket_selectors.ticket_for(ticket_id=claimed["ticket_id"])
        if ticket is None:
            raise LookupError("the ticket no longer exists")
        conversation = ticket_selectors.conversation(ticket=ticket)
        draft = replies.draft_reply(text=customer_words(conversation, separator=" "), language=ticket.get("language"))
    except Exception as error:  # the page must not say "Drafting…" until the draft goes stale
        logger.exception("reply draft %s failed", draft_id)
        outcome = {"status": DraftStatus.FAILED, "error": str(error)[:500] or type(error).__name__}
    else:
        outcome = {"status": DraftStatus.READY, "text": draft.text, "provider": draft.provider,
                   "model": draft.model, "problems": list(draft.problems)}
    written = _finish(key, outcome, expected=DraftStatus.WRITING)
    if written is None:
        return "skipped"
    _announce(written)
    logger.info("reply draft %s for %s: %s by %s (%d refused before)", draft_id, claimed["ticket_id"],
                outcome["status"], outcome.get("provider", "-"), len(outcome.get("problems", [])))
    return outcome["status"]




def _finish(key: ObjectId, fields: dict, *, expected: str) -> dict | None:
    return store.finish(key=key, fields=fields, expected=expected, now=datetime.now(UTC))


def _announce(document: dict) -> None:
    """A reply draft moved on (writing, ready, failed): sent to the ticket's page group, whose
    consumer relays it to the requester's sockets only (`for`). It carries no text: the
    page reads the draft from its status endpoint, where permissions are checked again."""
    live.publish({live.ticket_group(document["ticket_id"])},
                 {"type": live.DRAFT_CHANGED, "id": document["ticket_id"], "draft": str(document["_id"]),
                  "status": document["status"], "for": document["requested_by"], "sent_at": time.time()})


