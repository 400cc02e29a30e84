"""One chunk through the whole stage: raw store → parse → quarantine → clean → threads →
duplicates → tweets → tickets. Used by every door (CLI, upload, stream).

The hot path writes with pymongo `insert_many` on the mongoengine collections: building
mongoengine objects for millions of rows would cost more than the database itself.
Every write is idempotent (deterministic _ids, duplicates skipped), so a chunk replayed
after a crash produces nothing twice.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from bson import ObjectId
from django.conf import settings
from pymongo import ReplaceOne

from dallosh.bulk import find_by_values, insert_new
from ingestion import cleaning, events, store, threads
from ingestion.formats import CsvFormat
from ingestion.models import RawRow, TextFingerprint
from ingestion.reader import RawRecord


@dataclass
class ChunkOutcome:
    rows_read: int = 0
    raw_rows_stored: int = 0
    quarantined: int = 0
    tweets_created: int = 0
    tweets_already_known: int = 0
    retweets: int = 0
    duplicates: int = 0
    brand_posts: int = 0
    tickets_created: int = 0
    tickets_updated: int = 0
    conversations_merged: int = 0
    quarantine_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class JobContext:
    """What every chunk of one job shares."""

    job_id: ObjectId
    content_hash: str
    source: str
    fmt: CsvFormat
    columns: list[str]
    resolver: threads.ConversationResolver


# Raw rows are written by this thread while the chunk is parsed and cleaned: the database
# works while Python works. Nothing derived from a chunk is written before its raw rows are.
_RAW_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-rows")


def process_chunk(ctx: JobContext, records: list[RawRecord]) -> ChunkOutcome:
    now = datetime.now(UTC)
    outcome = ChunkOutcome(rows_read=len(records))
    raw_stored = _RAW_WRITER.submit(_store_raw, ctx, records, now)
    try:
        return _parse_and_store(ctx, records, now, outcome, raw_stored)
    finally:
        wait([raw_stored])  # never leave a chunk's raw write running past its chunk


def _parse_and_store(ctx: JobContext, records: list[RawRecord], now: datetime, outcome: ChunkOutcome,
                     raw_stored: Future) -> ChunkOutcome:
    by_row = {r.row: r for r in records}
    rejects = [(r.row, r.error) for r in records if r.error]
    parsed = ctx.fmt.parse(_frame(ctx, [r for r in records if not r.error]))
    rejects += parsed.rejects
    tweets, repeated = _prepare_tweets(ctx, parsed.tweets)
    rejects += repeated
    outcome.raw_rows_stored = raw_stored.result()
    _quarantine(ctx, rejects, by_row, now, outcome)
    if not tweets.empty:
        _store_tweets_and_tickets(ctx, tweets, now, outcome)
    return outcome


def _store_tweets_and_tickets(ctx: JobContext, tweets: pd.DataFrame, now: datetime, outcome: ChunkOutcome) -> None:
    """Threads, duplicate marks, tweets, then the tickets of the conversations they touch."""
    assignment = ctx.resolver.assign(tweets["_id"].tolist(), tweets["reply_to"].tolist())
    tweets["conversation_id"] = tweets["_id"].map(assignment.conversation)
    _mark_duplicates(tweets)
    documents = _tweet_documents(ctx, tweets)
    known = store.insert_new_tweets(documents)
    events.stored(sender=ChunkOutcome, tweets=[d for d in documents if d["_id"] not in known])
    adoption = _link_conversations(ctx, assignment)
    merges = adoption.merges
    created, updated = events.derive_tickets(chunk_tweets=documents,
                                             rebuild=assignment.existing | {into for _, into in merges},
                                             merges=merges, now=now)
    threads.forget_pending(adoption.settled)  # only now: a crash before this replays the adoption
    outcome.tweets_created = len(documents) - len(known)
    outcome.tweets_already_known = len(known)
    outcome.retweets = int(tweets["is_retweet"].sum())
    outcome.duplicates = int(tweets["is_duplicate"].sum())
    outcome.brand_posts = int(tweets["is_brand"].sum())
    outcome.tickets_created, outcome.tickets_updated = created, updated
    outcome.conversations_merged = len(merges)


def _link_conversations(ctx: JobContext, assignment: threads.Assignment) -> threads.Adoption:
    """Record replies still waiting for their parent, adopt those whose parent just came."""
    threads.record_pending(assignment.pending, assignment.conversation)
    adoption = threads.adopt_waiting_replies(parents=assignment.adopted_parents, conversation=assignment.conversation)
    for absorbed, into in adoption.merges:
        ctx.resolver.redirect(absorbed, into)
    ctx.resolver.await_parents([parent for _, parent in assignment.pending])
    ctx.resolver.remember(assignment.conversation)
    return adoption


def _store_raw(ctx: JobContext, records: list[RawRecord], now: datetime) -> int:
    """Every row, unchanged, before anything else touches it."""
    documents = []
    for record in records:
        document = {"_id": f"{ctx.content_hash}:{record.row}", "job": ctx.job_id, "row": record.row,
                    "received_at": now}
        if record.raw_bytes is not None:  # a message kept once whatever batch brought it again
            document.update(_id="raw:" + hashlib.sha256(record.raw_bytes).hexdigest(), raw_bytes=record.raw_bytes)
        elif record.fields is None:
            document["raw_text"] = record.raw_text
        else:
            document["values"] = record.fields
        documents.append(document)
    return len(documents) - len(insert_new(RawRow._get_collection(), documents))


def _frame(ctx: JobContext, records: list[RawRecord]) -> pd.DataFrame:
    names = [c or f"column_{i}" for i, c in enumerate(ctx.columns)]
    frame = pd.DataFrame([r.fields for r in records], columns=names, dtype=object)
    frame = frame.fillna("").astype(str)
    frame["row"] = [r.row for r in records]
    return frame


def _prepare_tweets(ctx: JobContext, parsed: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Keys, clean text, language and marks; a tweet id repeated within the chunk is rejected."""
    tweets = parsed.copy()
    tweets["_id"] = ctx.source + ":" + tweets["tweet_id"]
    repeated_mask = tweets["_id"].duplicated(keep="first")
    first_row = tweets.drop_duplicates("_id").set_index("_id")["row"]
    repeated = [(int(row), f"tweet id repeated (first seen at row {int(first_row[key])})")
                for row, key in zip(tweets.loc[repeated_mask, "row"], tweets.loc[repeated_mask, "_id"])]
    tweets = tweets.loc[~repeated_mask].reset_index(drop=True)
    tweets["reply_to"] = pd.Series([f"{ctx.source}:{r}" if r else None for r in tweets["reply_to_id"]],
                                   index=tweets.index, dtype=object)
    tweets["clean_text"] = cleaning.clean_for_model(tweets["text"], stray_newline_n=ctx.fmt.stray_newline_n)
    tweets["display_text"] = cleaning.for_display(tweets["text"], stray_newline_n=ctx.fmt.stray_newline_n)
    tweets["language"] = cleaning.detect_languages(tweets["clean_text"])
    tweets["is_retweet"] = cleaning.mark_retweets(tweets["text"])
    tweets["fingerprint"] = cleaning.fingerprints(
        tweets["clean_text"], tweets["author"], global_min_chars=settings.DALLOSH_INGEST.duplicate_global_min_chars
    )
    tweets["exact"] = cleaning.exact_hashes(tweets["text"])
    return tweets, repeated


def _mark_duplicates(tweets: pd.DataFrame) -> None:
    """Mark customer tweets whose (near-)identical text was seen shortly before (within the
    fingerprint's window, in tweet time), here or in any earlier chunk.

    Brand posts and retweets are excluded from queues anyway and are not fingerprinted.
    A repeat outside the window is a new request: it becomes the fingerprint's first.
    """
    tweets["is_duplicate"] = False
    tweets["duplicate_of"] = None
    tweets["duplicate_kind"] = None
    candidates = tweets[~tweets["is_brand"] & ~tweets["is_retweet"] & (tweets["clean_text"] != "")]
    if candidates.empty:
        return
    limits = settings.DALLOSH_INGEST
    across = cleaning.compared_across_authors(candidates["clean_text"],
                                              global_min_chars=limits.duplicate_global_min_chars)
    windows = across.map({True: limits.duplicate_global_window_h * 3600,
                          False: limits.duplicate_author_window_h * 3600})
    now = datetime.now(UTC)
    firsts = candidates.drop_duplicates("fingerprint")
    documents = [{"_id": fp, "tweet": key, "exact": exact, "seen_at": at.to_pydatetime(), "window_s": int(window),
                  "stored_at": now}
                 for fp, key, exact, at, window in zip(firsts["fingerprint"], firsts["_id"], firsts["exact"],
                                                       firsts["created_at"], windows[firsts.index])]
    seen_before = insert_new(TextFingerprint._get_collection(), documents)
    first = {doc["_id"]: doc for doc in documents if doc["_id"] not in seen_before}
    for doc in find_by_values(TextFingerprint._get_collection(), "_id", list(seen_before)):
        first[doc["_id"]] = doc
    renewed = {}
    for index, fp, key, exact, at, window in zip(candidates.index, candidates["fingerprint"], candidates["_id"],
                                                 candidates["exact"], candidates["created_at"], windows):
        original, at = first[fp], at.to_pydatetime()
        if original["tweet"] == key:
            continue
        if _within_window(at, original):
            tweets.at[index, "is_duplicate"] = True
            tweets.at[index, "duplicate_of"] = original["tweet"]
            tweets.at[index, "duplicate_kind"] = "exact" if original["exact"] == exact else "near"
        else:  # the same words long after: a new request, and the first of its own repeats
            first[fp] = renewed[fp] = {"_id": fp, "tweet": key, "exact": exact, "seen_at": at, "window_s": int(window),
                                       "stored_at": now}
    if renewed:
        TextFingerprint._get_collection().bulk_write(
            [ReplaceOne({"_id": fp}, doc, upsert=True) for fp, doc in renewed.items()], ordered=False)


def _within_window(at: datetime, first: dict) -> bool:
    """A fingerprint stored before windows existed has no time: its next repeat starts anew."""
    seen_at = first.get("seen_at")
    return seen_at is not None and abs(at - seen_at) <= timedelta(seconds=first["window_s"])


CHANNEL_COLUMNS = ("is_automated", "mail", "call")  # what a channel other than Twitter adds to its messages


def _tweet_documents(ctx: JobContext, tweets: pd.DataFrame) -> list[dict]:
    columns = ["_id", "tweet_id", "author", "is_brand", "created_at", "text", "clean_text", "display_text",
               "language", "is_retweet", "is_duplicate", "duplicate_of", "duplicate_kind", "fingerprint", "reply_to",
               "response_ids", "conversation_id", "row"]
    columns += [c for c in CHANNEL_COLUMNS if c in tweets.columns]
    documents = []
    for values in zip(*(tweets[c] for c in columns)):
        document = dict(zip(columns, values))
        document["created_at"] = document["created_at"].to_pydatetime()
        document["is_brand"] = bool(document["is_brand"])
        document["is_retweet"] = bool(document["is_retweet"])
        document["is_duplicate"] = bool(document["is_duplicate"])
        if "is_automated" in document:
            document["is_automated"] = bool(document["is_automated"])
        document["row"] = int(document["row"])
        document["source"] = ctx.source
        document["channel"] = ctx.fmt.channel
        document["job"] = ctx.job_id
        documents.append({k: v for k, v in document.items() if v is not None and v == v})  # drop None and NaN
    return documents


def _quarantine(ctx: JobContext, rejects: list[tuple[int, str]], by_row: dict[int, RawRecord], now: datetime,
                outcome: ChunkOutcome) -> None:
    documents = []
    for row, reason in rejects:
        record = by_row[row]
        documents.append({"_id": f"{ctx.content_hash}:{row}", "job": ctx.job_id, "row": row, "line": record.line,
                          "reason": reason, "raw_text": record.raw_text, "at": now})
        label = reason_label(reason)
        outcome.quarantine_reasons[label] = outcome.quarantine_reasons.get(label, 0) + 1
    store.quarantine_rows(documents)
    outcome.quarantined = len(documents)


def reason_label(reason: str) -> str:
    """The kind of a quarantine reason, without its details: usable as a counter key."""
    label = reason.split(":")[0].split("(")[0].strip()
    return label.replace(".", " ").replace("$", " ") or "unknown"
