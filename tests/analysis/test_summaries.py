"""One-line summaries (analysis/summaries.py): written only where they save an agent reading
(several customer tweets, or a text longer than a tweet), by the first LLM tier that writes
one; a failing tier hands over to the next and is counted by its breaker, an open breaker is
not called, and no summary at all is None, never an error."""

from __future__ import annotations

import pytest

from analysis import health, summaries
from analysis.models import ProviderHealth
from bench import llm_servers as faults

FRENCH = "ma box est en panne depuis ce matin"


@pytest.mark.no_servers
def test_only_a_conversation_or_a_long_text_is_worth_a_summary():
    assert not summaries.worth_summarising(text=FRENCH, customer_tweets=1)
    assert summaries.worth_summarising(text=FRENCH, customer_tweets=2)
    assert not summaries.worth_summarising(text="x" * 280, customer_tweets=1), "one tweet's length"
    assert summaries.worth_summarising(text="x" * 281, customer_tweets=1)


def test_the_first_llm_tier_writes_the_summary_and_is_named(use_tiers, fault_server, second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url), fast=True)  # the heads write none
    assert summaries.summarise(FRENCH) == (f"first summary: {FRENCH}", "openai")
    assert second_fault_server.requests == []


def test_a_failing_tier_hands_over_to_the_next_and_its_breaker_counts_it(use_tiers, fault_server,
                                                                         second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    fault_server.play(faults.SERVER_ERROR)
    second_fault_server.play(faults.MALFORMED, faults.OK)
    assert summaries.summarise(FRENCH) is None, "one tier failed, the other wrote no JSON"
    assert ProviderHealth.objects.get(id="openai").consecutive_failures == 1
    assert summaries.summarise(FRENCH) == (f"first summary: {FRENCH}", "openai"), "the first answers again"
    fault_server.play(faults.SERVER_ERROR)
    assert summaries.summarise(FRENCH) == (f"second summary: {FRENCH}", "local")


def test_a_tier_whose_breaker_is_open_is_not_asked(use_tiers, fault_server, second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    for _ in range(3):  # the fixtures' threshold
        health.record_failure("openai", "timeout")
    assert summaries.summarise(FRENCH) == (f"second summary: {FRENCH}", "local")
    assert fault_server.requests == []
