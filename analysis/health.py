"""Provider health: the circuit breaker and the cost ledger, shared by all workers through
MongoDB so one worker's lesson (OpenAI is down) spares the others the same timeouts.

A tier opens after BREAKER_FAILURES consecutive failed calls and is skipped until its
cooldown ends; then exactly one worker wins a probe lease and tries it. Success closes
the breaker; failure reopens it with a doubled cooldown, up to BREAKER_MAX_COOLDOWN_S.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from pymongo import ReturnDocument

from analysis.models import CostLedgerDay, ProviderHealth
from dallosh.conf import TierSettings
from dallosh.mongo import as_utc

PROBE_LEASE_S = 60


def _settings() -> dict:
    return settings.DALLOSH_ANALYSIS


def breaker_allows(tier: str, *, now: datetime | None = None) -> bool:
    """Whether a call to `tier` may be made now: closed, or open with a probe due that we won."""
    now = now or datetime.now(UTC)
    collection = ProviderHealth._get_collection()
    state = collection.find_one({"_id": tier}, {"open_until": 1}) or {}
    open_until = state.get("open_until")
    if open_until is None:
        return True
    if as_utc(open_until) > now:
        return False
    return _win_probe(tier, now)


def _win_probe(tier: str, now: datetime) -> bool:
    won = ProviderHealth._get_collection().find_one_and_update(
        {"_id": tier, "$or": [{"probe_until": None}, {"probe_until": {"$lte": now}}]},
        {"$set": {"probe_until": now + timedelta(seconds=PROBE_LEASE_S)}}, return_document=ReturnDocument.AFTER)
    return won is not None


def record_success(tier: str) -> None:
    now = datetime.now(UTC)
    ProviderHealth._get_collection().update_one(
        {"_id": tier},
        {"$set": {"consecutive_failures": 0, "open_until": None, "probe_until": None, "cooldown_s": 0,
                  "last_success_at": now}, "$inc": {"calls": 1}}, upsert=True)


def record_failure(tier: str, reason: str) -> None:
    """Count a failed call; open (or reopen, with a longer cooldown) the breaker at the threshold."""
    now = datetime.now(UTC)
    config = _settings()
    state = ProviderHealth._get_collection().find_one_and_update(
        {"_id": tier},
        {"$inc": {"consecutive_failures": 1, "calls": 1, "failures": 1},
         "$set": {"last_failure": reason[:500], "last_failure_at": now, "probe_until": None}},
        upsert=True, return_document=ReturnDocument.AFTER)
    if state["consecutive_failures"] < config.breaker_failures:
        return
    previous = state.get("cooldown_s") or 0
    cooldown = min(config.breaker_max_cooldown_s, previous * 2 if previous else config.breaker_cooldown_s)
    ProviderHealth._get_collection().update_one(
        {"_id": tier}, {"$set": {"open_until": now + timedelta(seconds=cooldown), "cooldown_s": cooldown}})


def record_cost(*, tier: TierSettings, model: str, items: int, tokens_in: int, tokens_out: int,
                unbatched_tokens_in: int, failed: bool = False) -> None:
    """Add one call to today's ledger line for this provider and model."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    price_in = tier.price_in_per_mtok / 1e6
    price_out = tier.price_out_per_mtok / 1e6
    CostLedgerDay._get_collection().update_one(
        {"_id": f"{day}:{tier.name}:{model}"},
        {"$setOnInsert": {"day": day, "provider": tier.name, "model": model},
         "$inc": {"calls": 1, "failed_calls": int(failed), "items": items, "tokens_in": tokens_in,
                  "tokens_out": tokens_out, "cost_usd": tokens_in * price_in + tokens_out * price_out,
                  "unbatched_tokens_in": unbatched_tokens_in,
                  "unbatched_cost_usd": unbatched_tokens_in * price_in + tokens_out * price_out}},
        upsert=True)


def record_saved(*, tier: str, model: str, items: int, llm_calls_saved: int, tokens_saved: int) -> None:
    """Tweets the classifier tier took without an LLM call, on today's ledger line."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    CostLedgerDay._get_collection().update_one(
        {"_id": f"{day}:{tier}:{model}"},
        {"$setOnInsert": {"day": day, "provider": tier, "model": model},
         "$inc": {"calls": 1, "items": items, "llm_calls_saved": llm_calls_saved, "tokens_saved": tokens_saved}},
        upsert=True)
