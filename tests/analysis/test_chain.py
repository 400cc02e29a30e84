"""The provider chain against real endpoints on loopback: the scripted fault server, the
real llama.cpp server (SmolLM2) through the OpenAI client, and through the ollama client."""

import time

import pytest

from analysis.chain import default_chain
from analysis.models import CostLedgerDay, ProviderHealth
from analysis.prompts import Item
from bench import llm_servers as faults
from bench.llm_servers import expected_labels
from config.embedded import free_port

TEXTS = ["my fibre is down since monday", "thanks, I love the new plan", "where is my bill for march?"]


def items(*texts):
    return [Item(id=f"t{n}", text=text) for n, text in enumerate(texts)]


def test_first_tier_answers_when_healthy(use_tiers, fault_server, second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    result = default_chain().analyse(items(*TEXTS))
    assert set(result.analysed) == {"t0", "t1", "t2"} and not result.failed and not result.requeued
    for n, text in enumerate(TEXTS):
        outcome = result.analysed[f"t{n}"]
        assert outcome.provider == "openai" and outcome.attempts == 1 and outcome.fallbacks == []
        assert outcome.analysis.sentiment == expected_labels(text)["sentiment"]
        assert outcome.analysis.summary == f"first read: {text}"
        assert outcome.tokens_in > 0 and outcome.tokens_out > 0
    assert len(second_fault_server.requests) == 0


@pytest.mark.parametrize(("fault", "reason"), [
    (faults.TIMEOUT, "timeout"),
    (faults.SERVER_ERROR, "server_error"),
])
def test_a_failing_tier_hands_the_tweet_to_the_next(use_tiers, fault_server, second_fault_server, fault, reason):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url), timeout_s=1)
    fault_server.play(fault)
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.provider == "local" and outcome.fallbacks == [f"openai: {reason}"]
    assert outcome.analysis.summary == f"second read: {TEXTS[0]}" and outcome.attempts == 2


def test_connection_refused_falls_back(use_tiers, second_fault_server):
    use_tiers(("openai", f"http://127.0.0.1:{free_port()}/v1"), ("local", second_fault_server.url))
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.provider == "local" and outcome.fallbacks == ["openai: refused"]


def test_429_is_retried_after_retry_after_then_succeeds_on_the_same_tier(use_tiers, fault_server,
                                                                          second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    fault_server.play(faults.rate_limited(1))
    started = time.monotonic()
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert time.monotonic() - started >= 1.0
    assert outcome.provider == "openai" and outcome.attempts == 2 and len(fault_server.requests) == 2


def test_429_beyond_the_retry_budget_falls_back(use_tiers, fault_server, second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url), max_retries=1)
    fault_server.play(default=faults.rate_limited(0.1))
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.provider == "local" and outcome.fallbacks == ["openai: rate_limited"]
    assert len(fault_server.requests) == 2  # the call and its one retry


def test_a_retry_after_longer_than_allowed_falls_back_at_once(use_tiers, fault_server, second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url), max_retry_after_s=5)
    fault_server.play(faults.rate_limited(3600))
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.provider == "local" and len(fault_server.requests) == 1


@pytest.mark.parametrize("fault", [faults.MALFORMED, faults.OUT_OF_VOCABULARY, faults.CUT])
def test_one_bad_answer_is_repaired_on_the_same_tier(use_tiers, fault_server, second_fault_server, fault):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    fault_server.play(fault)
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.provider == "openai" and outcome.attempts == 2
    repair = fault_server.requests[1]["messages"]
    assert repair[-1]["role"] == "user" and repair[-1]["content"].startswith("That answer is invalid")


def test_a_raw_line_break_inside_a_string_is_read_not_refused(use_tiers, fault_server):
    use_tiers(("openai", fault_server.url))
    fault_server.play(faults.RAW_NEWLINE)
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.attempts == 1 and outcome.analysis.summary == "line one line two"


def test_an_answer_cut_inside_its_summary_keeps_its_labels_without_another_call(use_tiers, fault_server):
    use_tiers(("openai", fault_server.url))
    fault_server.play(faults.CUT_IN_SUMMARY)
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.attempts == 1 and len(fault_server.requests) == 1
    expected = expected_labels(TEXTS[0])
    assert (outcome.analysis.sentiment, outcome.analysis.topic) == (expected["sentiment"], expected["topic"])
    assert outcome.analysis.summary.startswith("I am sorry") and len(outcome.analysis.summary) <= 140


@pytest.mark.parametrize("fault", [faults.MALFORMED, faults.OUT_OF_VOCABULARY])
def test_a_second_bad_answer_moves_to_the_next_tier(use_tiers, fault_server, second_fault_server, fault):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    fault_server.play(fault, fault)
    outcome = default_chain().analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.provider == "local" and outcome.fallbacks == ["openai: bad_answer"]
    assert outcome.analysis.topic in {"network", "billing", "other"}


@pytest.mark.parametrize("fault", [faults.MISSING_ITEM, faults.DUPLICATED_ITEM, faults.MISALIGNED_ITEM])
def test_a_batch_answer_missing_an_item_requeues_only_that_tweet(use_tiers, fault_server, fault):
    use_tiers(("openai", fault_server.url), batch_size=3)
    fault_server.play(fault)
    result = default_chain().analyse(items(*TEXTS))
    last = "t2"
    assert set(result.requeued) == {last} or (fault == faults.DUPLICATED_ITEM and set(result.requeued) == {"t0", last})
    for item_id, outcome in result.analysed.items():
        text = TEXTS[int(item_id[1])]
        assert outcome.analysis.summary == f"first read: {text}", "an answer was written to the wrong tweet"
        assert outcome.batch_size == 3
    assert set(result.analysed) | set(result.requeued) == {"t0", "t1", "t2"}
    assert len(fault_server.requests) == 1


def test_when_every_tier_fails_the_tweet_is_reported_failed_with_each_reason(use_tiers, fault_server,
                                                                            second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    fault_server.play(default=faults.SERVER_ERROR)
    second_fault_server.play(default=faults.SERVER_ERROR)
    result = default_chain().analyse(items(TEXTS[0]))
    assert not result.analysed and result.failed == {"t0": ["openai: server_error", "local: server_error"]}


def test_an_unsure_sentiment_gets_a_second_opinion(use_tiers, fault_server):
    use_tiers(("local", fault_server.url), second_pass_below=0.7)
    fault_server.play(faults.UNSURE)
    outcome = default_chain().analyse(items("my line is down since monday")).analysed["t0"]
    # first answer: neutral 0.5 / negative 0.4; second opinion: negative 0.9 → average: negative
    assert outcome.analysis.sentiment == "negative" and outcome.analysis.summary == "first unsure"
    assert outcome.attempts == 2 and len(fault_server.requests) == 2
    assert "what is its sentiment?" in fault_server.requests[1]["messages"][-1]["content"]
    fault_server.play()
    sure = default_chain().analyse(items("my line is down since monday")).analysed["t0"]
    assert sure.attempts == 1 and len(fault_server.requests) == 1, "a sure answer needs no second opinion"


def test_circuit_breaker_skips_a_failing_tier_then_probes_it(use_tiers, fault_server, second_fault_server):
    use_tiers(("openai", fault_server.url), ("local", second_fault_server.url))
    fault_server.play(default=faults.SERVER_ERROR)
    chain = default_chain()
    for _ in range(3):
        chain.analyse(items(TEXTS[0]))
    assert len(fault_server.requests) == 3 and ProviderHealth.objects.get(id="openai").open_until is not None
    outcome = chain.analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.fallbacks == ["openai: skipped, circuit open"] and len(fault_server.requests) == 3
    fault_server.play(default=faults.OK)
    time.sleep(1.1)  # the test cooldown is 1 s
    outcome = chain.analyse(items(TEXTS[0])).analysed["t0"]
    assert outcome.provider == "openai" and len(fault_server.requests) == 1
    assert ProviderHealth.objects.get(id="openai").open_until is None


def test_batching_is_recorded_in_the_cost_ledger_with_its_saving(use_tiers, fault_server):
    use_tiers(("openai", fault_server.url), batch_size=10, price_in_per_mtok=1.0, price_out_per_mtok=2.0)
    texts = [f"{TEXTS[n % 3]} #{n}" for n in range(10)]
    default_chain().analyse(items(*texts))
    body = fault_server.requests[0]
    prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4  # what the fault server bills
    line = CostLedgerDay.objects.get(provider="openai")
    assert (line.calls, line.items, line.tokens_in) == (1, 10, prompt_tokens)
    assert line.cost_usd == pytest.approx(prompt_tokens * 1e-6 + line.tokens_out * 2e-6)
    assert line.unbatched_tokens_in > 5 * line.tokens_in  # the instructions would be paid ten times


def test_batches_respect_the_size_and_the_token_budget(use_tiers, fault_server):
    use_tiers(("openai", fault_server.url), batch_size=4)
    default_chain().analyse(items(*[f"tweet {n}" for n in range(10)]))
    assert [len(faults.tweets_in(r)) for r in fault_server.requests] == [4, 4, 2]
    # A budget of the instructions (as the server saw them: 4 characters a token) and about
    # three 120-character tweets: six tweets need several requests, none over the budget.
    instructions = len(fault_server.requests[0]["messages"][0]["content"]) // 4
    budget = instructions + 3 * 60
    use_tiers(("openai", fault_server.url), batch_size=50, batch_token_budget=budget)
    fault_server.play()
    default_chain().analyse(items(*[f"{n} " + "x" * 120 for n in range(6)]))
    sizes = [len(faults.tweets_in(r)) for r in fault_server.requests]
    assert sum(sizes) == 6 and len(sizes) >= 2, sizes
    assert all(sum(len(m["content"]) for m in r["messages"]) // 4 <= budget for r in fault_server.requests)


def test_openai_client_against_the_real_local_model(use_tiers, smollm2):
    use_tiers(("local", smollm2), timeout_s=120)
    result = default_chain().analyse(items(TEXTS[0], "la box ne s'allume plus depuis ce matin"))
    # SmolLM2 is for plumbing: an answer may be unusable, but every tweet got one from the server
    assert result.analysed, result.failed
    assert all(reasons == ["local: bad_answer"] for reasons in result.failed.values()), result.failed
    for outcome in result.analysed.values():
        assert outcome.provider == "local" and outcome.model == "local-model"
        assert outcome.tokens_in > 200 and outcome.tokens_out > 5
        # llama.cpp returns token log-probabilities: each label's probability is recorded
        assert set(outcome.confidence) == {"sentiment", "topic", "urgency", "team", "actionable"}
        assert all(0 < p <= 1 for p in outcome.confidence.values())


def test_ollama_client_against_the_real_local_model_through_the_shim(use_tiers, smollm2):
    shim = faults.OllamaShim(upstream=smollm2)
    try:
        use_tiers(("ollama", shim.url), timeout_s=120)
        result = default_chain().analyse(items(*TEXTS))
    finally:
        shim.close()
    assert result.analysed and shim.requests >= len(TEXTS), result.failed
    assert all(reasons == ["ollama: bad_answer"] for reasons in result.failed.values()), result.failed
    for outcome in result.analysed.values():
        assert outcome.provider == "ollama" and outcome.tokens_in > 200


def test_real_local_model_takes_over_when_openai_fails(use_tiers, fault_server, smollm2):
    use_tiers(("openai", fault_server.url), ("local", smollm2), timeout_s=120)
    fault_server.play(default=faults.SERVER_ERROR)
    result = default_chain().analyse(items(*TEXTS))
    assert result.analysed, result.failed
    assert all(r == ["openai: server_error", "local: bad_answer"] for r in result.failed.values()), result.failed
    for outcome in result.analysed.values():
        assert outcome.provider == "local" and outcome.fallbacks == ["openai: server_error"]
