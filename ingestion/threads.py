"""Rebuilding reply threads into conversations, chunk by chunk, with bounded memory.

A conversation's id is the key of the first tweet of its reply chain. A reply whose
parent has not arrived yet starts a provisional conversation and leaves a PendingReply;
when the parent arrives (later in the file, or in a later file or stream request), the
provisional conversation is merged into the parent's.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from dallosh.bulk import find_by_values, insert_new, slices
from ingestion import store
from ingestion.models import PendingReply

RECENT_LIMIT = 200_000


@dataclass
class Assignment:
    conversation: dict[str, str]  # tweet key -> conversation id
    existing: set[str] = field(default_factory=set)  # conversations that existed before this chunk
    pending: list[tuple[str, str]] = field(default_factory=list)  # (child key, missing parent key)
    adopted_parents: list[str] = field(default_factory=list)  # keys in this chunk that replies wait for


class ConversationResolver:
    """Assigns conversations to chunks of tweets; one instance lives for one ingest job.

    `recent` remembers the conversations of the last RECENT_LIMIT tweets, so replies close
    to their parent in the file never touch the database. `awaited` holds the parent keys
    that stored replies wait for: loaded once for a file job, or looked up per chunk for a
    small stream request (awaited=None).
    """

    def __init__(self, *, awaited: set[str] | None = None) -> None:
        self.recent: OrderedDict[str, str] = OrderedDict()
        self.redirects: dict[str, str] = {}
        self.awaited = awaited

    @classmethod
    def for_large_job(cls) -> ConversationResolver:
        return cls(awaited=set(PendingReply._get_collection().distinct("parent")))

    def assign(self, keys: list[str], parents: list[str | None]) -> Assignment:
        in_chunk = dict(zip(keys, parents))
        known = self._conversations_outside(p for p in parents if p and p not in in_chunk)
        result = Assignment(conversation={})
        for key in keys:
            self._walk_to_root(key, in_chunk, known, result)
        result.adopted_parents = self._awaited_in(keys)
        return result

    def remember(self, conversation: dict[str, str]) -> None:
        self.recent.update(conversation)
        while len(self.recent) > RECENT_LIMIT:
            self.recent.popitem(last=False)

    def redirect(self, absorbed: str, into: str) -> None:
        self.redirects[absorbed] = into
        if self.awaited is not None:
            self.awaited.discard(absorbed)

    def await_parents(self, parents: list[str]) -> None:
        if self.awaited is not None:
            self.awaited.update(parents)

    def current(self, conversation: str) -> str:
        seen = set()
        while conversation in self.redirects and conversation not in seen:
            seen.add(conversation)
            conversation = self.redirects[conversation]
        return conversation

    def _conversations_outside(self, parents) -> dict[str, str]:
        known, missing = {}, []
        for parent in dict.fromkeys(parents):
            if parent in self.recent:
                known[parent] = self.current(self.recent[parent])
            else:
                missing.append(parent)
        for doc in store.tweets_by_ids(missing, projection=store.CONVERSATION):
            known[doc["_id"]] = doc["conversation_id"]
        return known

    def _walk_to_root(self, key: str, in_chunk: dict, known: dict, result: Assignment) -> None:
        conversation = result.conversation
        path, current = [], key
        while current not in conversation:
            parent = in_chunk.get(current)
            if parent and parent in in_chunk and parent not in path and parent != current:
                path.append(current)
                current = parent
                continue
            if parent and parent in known:
                conversation[current] = known[parent]
                result.existing.add(known[parent])
            else:
                conversation[current] = current
                if parent and parent not in in_chunk:
                    result.pending.append((current, parent))
            break
        for step in path:
            conversation[step] = conversation[current]

    def _awaited_in(self, keys: list[str]) -> list[str]:
        if self.awaited is not None:
            return [k for k in keys if k in self.awaited]
        found = find_by_values(PendingReply._get_collection(), "parent", keys, {"parent": 1})
        return list(dict.fromkeys(doc["parent"] for doc in found))


def record_pending(pending: list[tuple[str, str]], conversation: dict[str, str]) -> None:
    docs = [{"_id": child, "parent": parent, "conversation_id": conversation[child]} for child, parent in pending]
    insert_new(PendingReply._get_collection(), docs)


@dataclass
class Adoption:
    """Provisional conversations merged into their parent's, and the pending replies that
    may be forgotten once the tickets are merged too (forget_pending): kept until then, a
    chunk replayed after a crash at any point finds them and merges again."""

    merges: list[tuple[str, str]] = field(default_factory=list)  # (absorbed, into)
    settled: list[str] = field(default_factory=list)  # PendingReply ids


def adopt_waiting_replies(*, parents: list[str], conversation: dict[str, str]) -> Adoption:
    """Merge the provisional conversations that waited for these parents into theirs."""
    waiting = find_by_values(PendingReply._get_collection(), "parent", parents)
    if not waiting:
        return Adoption()
    current = {d["_id"]: d["conversation_id"]
               for d in store.tweets_by_ids([doc["_id"] for doc in waiting], projection=store.CONVERSATION)}
    adoption = Adoption(settled=[doc["_id"] for doc in waiting])
    for doc in waiting:
        into = conversation[doc["parent"]]
        # A replay after a crash finds the tweets moved already: the provisional conversation
        # it recorded is the one whose ticket still has to be merged.
        absorbed = current.get(doc["_id"])
        absorbed = doc["conversation_id"] if absorbed == into else absorbed
        if absorbed and absorbed != into:
            store.move_conversation(absorbed=absorbed, into=into)
            adoption.merges.append((absorbed, into))
    return adoption


def forget_pending(reply_ids: list[str]) -> None:
    """Called once the merged tickets are written."""
    for part in slices(reply_ids):
        PendingReply._get_collection().delete_many({"_id": {"$in": part}})


def adopt_replies_whose_parent_arrived() -> Adoption:
    """Catch-all, run when a job ends: adopt pending replies whose parent is stored by now.

    A job's resolver knows the replies that were waiting when it started; a stream request
    may leave a new one meanwhile. This pass makes sure none stays provisional for good.
    """
    parents = PendingReply._get_collection().distinct("parent")
    stored = store.tweets_by_ids(parents, projection=store.CONVERSATION)
    conversation = {doc["_id"]: doc["conversation_id"] for doc in stored}
    return adopt_waiting_replies(parents=list(conversation), conversation=conversation)
