"""One LLM tier each (analysis/providers.py), through the official clients against servers on
loopback: the scripted OpenAI-compatible server, and an Ollama API in front of it
(bench.llm_servers.OllamaShim). Each failure is named so the chain can decide: timeout,
refused, rate limited with its Retry-After, server error, client error."""

from __future__ import annotations

import math

import pytest

from analysis.providers import FailureKind, OllamaProvider, OpenAIProvider, ProviderFailure, build_provider
from analysis.second_opinion import answer_schema
from bench import llm_servers as faults
from bench.llm_servers import OllamaShim
from config.embedded import free_port
from dallosh.conf import TierSettings

pytestmark = pytest.mark.no_servers

QUESTION = [{"role": "user", "content": "Tweet: my fibre is down\nJSON:"}]


def tier(url: str, *, kind: str = "openai", timeout_s: float = 2) -> TierSettings:
    return TierSettings(name=kind, kind=kind, model="scripted-model", base_url=url, api_key="test",
                        timeout_s=timeout_s)


def ask(provider, **kwargs):
    return provider.complete(messages=QUESTION, schema=answer_schema(), max_tokens=20, **kwargs)


@pytest.fixture
def ollama(fault_server):
    shim = OllamaShim(upstream=fault_server.url)
    yield shim
    shim.close()


def test_an_openai_tier_returns_the_answer_its_usage_and_the_log_probabilities_asked_for(fault_server):
    provider = build_provider(tier(fault_server.url))
    assert isinstance(provider, OpenAIProvider)
    completion = ask(provider, logprobs=True)
    answer = '{"sentiment": "negative"}'
    assert completion.content == answer and completion.finish_reason == "stop"
    assert completion.model == "scripted-model"
    # the scripted server bills 4 characters a token
    assert (completion.tokens_in, completion.tokens_out) == (len(QUESTION[0]["content"]) // 4, len(answer) // 4)
    chosen = [(token, alternatives) for token, alternatives in completion.token_logprobs if token == "negative"]
    assert [dict(alternatives) for _, alternatives in chosen] == [pytest.approx(
        {"negative": math.log(0.9), "neutral": math.log(0.05), "positive": math.log(0.05)})]
    assert ask(provider).token_logprobs is None, "not asked for, not returned"


@pytest.mark.parametrize(("step", "kind", "retry_after"), [
    (faults.rate_limited(2.5), FailureKind.RATE_LIMITED, 2.5),
    (faults.SERVER_ERROR, FailureKind.SERVER_ERROR, None),
    (faults.TIMEOUT, FailureKind.TIMEOUT, None),
])
def test_an_openai_tiers_failures_are_named(fault_server, step, kind, retry_after):
    fault_server.play(step)
    with pytest.raises(ProviderFailure) as failure:
        ask(OpenAIProvider(tier(fault_server.url, timeout_s=0.5)))
    assert (failure.value.kind, failure.value.retry_after) == (kind, retry_after)


def test_nothing_listening_is_refused_and_a_wrong_route_is_our_error(ollama):
    with pytest.raises(ProviderFailure) as refused:
        ask(OpenAIProvider(tier(f"http://127.0.0.1:{free_port()}/v1")))
    assert refused.value.kind == FailureKind.REFUSED
    with pytest.raises(ProviderFailure) as wrong:  # the Ollama API has no /chat/completions
        ask(OpenAIProvider(tier(ollama.url)))
    assert wrong.value.kind == FailureKind.CLIENT_ERROR and str(wrong.value).startswith("client_error: HTTP 404")


def test_an_ollama_tier_answers_through_the_official_client(fault_server, ollama):
    provider = build_provider(tier(ollama.url, kind="ollama"))
    assert isinstance(provider, OllamaProvider)
    completion = ask(provider)
    assert completion.content == '{"sentiment": "negative"}' and completion.finish_reason == "stop"
    assert completion.model == "scripted-model" and completion.tokens_in == len(QUESTION[0]["content"]) // 4
    fault_server.play(faults.CUT)
    assert ask(provider).finish_reason == "length", "an answer cut by max_tokens says so"


def test_an_ollama_tiers_failures_are_named(fault_server):
    with pytest.raises(ProviderFailure) as refused:
        ask(OllamaProvider(tier(f"http://127.0.0.1:{free_port()}", kind="ollama")))
    assert refused.value.kind == FailureKind.REFUSED
    broken = OllamaShim(upstream=f"http://127.0.0.1:{free_port()}/v1")  # its model server is gone: 502
    try:
        with pytest.raises(ProviderFailure) as failure:
            ask(OllamaProvider(tier(broken.url, kind="ollama")))
    finally:
        broken.close()
    assert failure.value.kind == FailureKind.SERVER_ERROR and "HTTP 502" in str(failure.value)
