"""What ingestion announces after its writes, and the one step it hands up the stack.

Ingestion is the pipeline's first stage: it imports none of the others.
- Announcements (dallosh/announce.py, best effort after the write): the dashboard counts the
  tweets stored, analysis queues a checkpointed chunk's tickets. Each stage above subscribes
  in its app's ready().
- A step the pipeline cannot do without: the tickets of the conversations a chunk touched
  are derived before the chunk is checkpointed. That is a call, not an event: the tickets
  stage registers the one function that does it (`derive_tickets_with`, in its ready()), a
  failure stops the chunk (its replay derives them again), and its answer counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

from dallosh.announce import announce

# tweets: the tweet documents newly stored (a chunk's, or a brand reply an agent recorded).
tweets_stored = Signal()
# A chunk is checkpointed: its tickets may be handed to the analysis workers.
chunk_checkpointed = Signal()


class TicketDeriver(Protocol):
    def __call__(self, *, chunk_tweets: list[dict], rebuild: set[str], merges: list[tuple[str, str]],
                 now: datetime) -> tuple[int, int]:
        """Derive the tickets of the conversations a write touched: those of `chunk_tweets`,
        those to rebuild (conversation ids), then the (absorbed, into) merges. Returns the
        tickets (created, updated)."""


_ticket_deriver: list[TicketDeriver] = []


def derive_tickets_with(deriver: TicketDeriver) -> None:
    """The tickets stage names the function that derives tickets (once, in its ready())."""
    _ticket_deriver[:] = [deriver]


def stored(*, sender, tweets: list[dict]) -> None:
    """A follow-up (the dashboard's tweet counts): under the one failure policy (dallosh.announce)."""
    if tweets:
        announce(tweets_stored, about=f"{len(tweets)} tweet(s) from {tweets[0].get('_id')}", sender=sender,
                 tweets=tweets)


def derive_tickets(*, chunk_tweets: list[dict], rebuild: set[str], merges: list[tuple[str, str]],
                   now: datetime) -> tuple[int, int]:
    """The tickets of the conversations a write touched, derived now; (created, updated)."""
    if not _ticket_deriver:
        raise ImproperlyConfigured("no ticket deriver: the tickets app registers one in its ready()")
    return _ticket_deriver[0](chunk_tweets=chunk_tweets, rebuild=rebuild, merges=merges, now=now)
