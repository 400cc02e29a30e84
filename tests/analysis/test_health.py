"""Provider health, shared by every worker through MongoDB (analysis/health.py): a tier's
breaker opens after consecutive failures and skips it until its cooldown ends, then exactly
one caller wins the probe; a failed probe doubles the cooldown up to its cap, a success
closes the breaker. And the cost ledger: each call added to today's line, priced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analysis import health
from analysis.models import CostLedgerDay, ProviderHealth
from dallosh.conf import TierSettings


@pytest.fixture
def breaker(settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(breaker_failures=3, breaker_cooldown_s=30,
                                                                  breaker_max_cooldown_s=100)


def fail(times: int, tier: str = "openai") -> None:
    for _ in range(times):
        health.record_failure(tier, "server_error: HTTP 500")


def cooldown(tier: str = "openai") -> float:
    return ProviderHealth.objects.get(id=tier).cooldown_s


def test_a_tier_opens_at_the_threshold_and_only_one_caller_probes_it_after_the_cooldown(breaker):
    fail(2)
    assert health.breaker_allows("openai"), "two failures: still closed"
    fail(1)
    assert not health.breaker_allows("openai") and health.breaker_allows("local"), "the others are not affected"
    later = datetime.now(UTC) + timedelta(seconds=31)
    assert health.breaker_allows("openai", now=later), "the cooldown is over: this caller probes"
    assert not health.breaker_allows("openai", now=later), "a second caller waits for the probe"


def probe_fails() -> None:
    assert health.breaker_allows("openai", now=datetime.now(UTC) + timedelta(seconds=101)), "the probe is won"
    fail(1)


def test_each_failed_probe_doubles_the_cooldown_up_to_its_cap(breaker):
    fail(3)
    assert cooldown() == 30
    probe_fails()
    assert cooldown() == 60 and not health.breaker_allows("openai"), "reopened"
    probe_fails()
    assert cooldown() == 100
    state = ProviderHealth.objects.get(id="openai")
    assert (state.consecutive_failures, state.failures, state.last_failure) == (5, 5, "server_error: HTTP 500")


def test_a_success_closes_the_breaker_and_starts_the_count_again(breaker):
    fail(3)
    health.record_success("openai")
    assert health.breaker_allows("openai")
    fail(2)
    assert health.breaker_allows("openai"), "the failures before the success no longer count"
    fail(1)
    assert not health.breaker_allows("openai") and cooldown() == 30, "a fresh opening: the first cooldown"


def test_each_call_is_added_to_todays_ledger_line_at_the_tiers_prices():
    tier = TierSettings(name="openai", kind="openai", model="gpt", price_in_per_mtok=2.0, price_out_per_mtok=8.0)
    health.record_cost(tier=tier, model="gpt-4o-mini", items=4, tokens_in=1000, tokens_out=200,
                       unbatched_tokens_in=4000)
    health.record_cost(tier=tier, model="gpt-4o-mini", items=2, tokens_in=500, tokens_out=100,
                       unbatched_tokens_in=2000, failed=True)
    [line] = CostLedgerDay.objects(provider="openai")
    assert (line.day, line.model) == (datetime.now(UTC).strftime("%Y-%m-%d"), "gpt-4o-mini")
    assert (line.calls, line.failed_calls, line.items, line.tokens_in, line.tokens_out) == (2, 1, 6, 1500, 300)
    assert line.cost_usd == pytest.approx((1500 * 2 + 300 * 8) / 1e6)
    assert line.unbatched_cost_usd == pytest.approx((6000 * 2 + 300 * 8) / 1e6)


def test_the_tweets_the_fast_tier_took_are_counted_as_llm_calls_saved():
    health.record_saved(tier="fast", model="use-m-heads-v3", items=500, llm_calls_saved=500, tokens_saved=90_000)
    health.record_saved(tier="fast", model="use-m-heads-v3", items=20, llm_calls_saved=20, tokens_saved=3_000)
    [line] = CostLedgerDay.objects(provider="fast")
    assert (line.calls, line.items, line.llm_calls_saved, line.tokens_saved, line.cost_usd) == (2, 520, 520, 93_000,
                                                                                                0)
