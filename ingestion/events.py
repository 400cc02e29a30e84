"""What ingestion announces after its writes, for the stages above it to act on.

Ingestion is the pipeline's first stage: it imports none of the others. The tickets stage
derives tickets from the conversations a chunk touched, the dashboard counts the tweets
stored, and analysis queues the new tickets; each subscribes in its app's ready(). Django
signals run their receivers at once, in the sender's thread: a chunk is done (and its
checkpoint may move) only when every stage has taken its part of it.
"""

from django.dispatch import Signal

from dallosh.announce import announce

# tweets: the tweet documents newly stored (a chunk's, or a brand reply an agent recorded).
tweets_stored = Signal()
# chunk_tweets, rebuild (conversation ids whose tickets must be derived again), merges
# ((absorbed, into) conversations), now. Receivers answer (tickets created, tickets updated).
conversations_touched = Signal()
# A chunk is checkpointed: its tickets may be handed to the analysis workers.
chunk_checkpointed = Signal()


def stored(*, sender, tweets: list[dict]) -> None:
    """A follow-up (the dashboard's tweet counts): under the one failure policy (dallosh.announce)."""
    if tweets:
        announce(tweets_stored, about=f"{len(tweets)} tweet(s) from {tweets[0].get('_id')}", sender=sender,
                 tweets=tweets)


def touched(*, sender, chunk_tweets: list[dict], rebuild: set[str], merges: list[tuple[str, str]],
            now) -> tuple[int, int]:
    """Announce the conversations a write touched; the tickets created and updated for them."""
    answers = conversations_touched.send(sender=sender, chunk_tweets=chunk_tweets, rebuild=rebuild, merges=merges,
                                         now=now)
    return (sum(created for _, (created, _updated) in answers), sum(updated for _, (_created, updated) in answers))
