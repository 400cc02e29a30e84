"""One LLM tier each: how to ask a provider for schema-constrained JSON and how its
failures are named. What to do about a failure (retry, repair, fall back) is the chain's
business (analysis/chain.py), not the provider's.

OpenAI and the built-in llama.cpp server share one class: both speak the OpenAI API and
are called through the official `openai` client. Ollama is called through the official
`ollama` client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import ollama
import openai

from dallosh.conf import TierSettings


class FailureKind:
    TIMEOUT = "timeout"
    REFUSED = "refused"  # connection refused or reset: nothing is listening
    RATE_LIMITED = "rate_limited"  # 429
    SERVER_ERROR = "server_error"  # 5xx
    CLIENT_ERROR = "client_error"  # other 4xx: our request or credentials are wrong
    BAD_ANSWER = "bad_answer"  # not JSON, cut by max_tokens, or outside the vocabulary


class ProviderFailure(Exception):
    """A call that produced no usable answer, with what the chain needs to decide next."""

    def __init__(self, kind: str, message: str, *, retry_after: float | None = None,
                 completion: Completion | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.retry_after = retry_after
        self.completion = completion  # set when the model answered, but unusably


@dataclass(frozen=True)
class Completion:
    content: str
    finish_reason: str
    tokens_in: int
    tokens_out: int
    model: str
    latency_s: float
    # (token, [(alternative, logprob), ...]) per generated token, when asked for and offered
    token_logprobs: list[tuple[str, list[tuple[str, float]]]] | None = None


class Provider(Protocol):
    config: TierSettings

    def complete(self, *, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
                 logprobs: bool = False) -> Completion:
        """The model's answer under `schema`, or ProviderFailure."""


class OpenAIProvider:
    """OpenAI's API (the nominal tier) or any server speaking it, such as llama.cpp's."""

    def __init__(self, config: TierSettings) -> None:
        self.config = config
        # max_retries=0: retries and backoff are the chain's, so they are counted and bounded.
        self.client = openai.OpenAI(api_key=config.api_key or "unused", base_url=config.base_url,
                                    timeout=config.timeout_s, max_retries=0)

    def complete(self, *, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
                 logprobs: bool = False) -> Completion:
        started = time.monotonic()
        extra = {"logprobs": True, "top_logprobs": 5} if logprobs else {}
        try:
            response = self.client.chat.completions.create(
                model=self.config.model, messages=messages, temperature=0, max_tokens=max_tokens,
                response_format={"type": "json_schema",
                                 "json_schema": {"name": "analysis", "strict": True, "schema": schema}},
                **extra,
            )
        except openai.APITimeoutError as error:
            raise ProviderFailure(FailureKind.TIMEOUT, str(error)) from error
        except openai.APIConnectionError as error:
            raise ProviderFailure(FailureKind.REFUSED, str(error)) from error
        except openai.APIStatusError as error:
            raise _status_failure(error.status_code, str(error), error.response.headers) from error
        if not response.choices:
            raise ProviderFailure(FailureKind.BAD_ANSWER, "the response holds no choice")
        choice = response.choices[0]
        usage = response.usage
        tokens = choice.logprobs.content if choice.logprobs and choice.logprobs.content else None
        return Completion(content=choice.message.content or "", finish_reason=choice.finish_reason or "",
                          tokens_in=usage.prompt_tokens if usage else 0,
                          tokens_out=usage.completion_tokens if usage else 0,
                          model=_model_name(response.model, self.config.model), latency_s=time.monotonic() - started,
                          token_logprobs=[(t.token, [(a.token, a.logprob) for a in t.top_logprobs or []])
                                          for t in tokens] if tokens else None)


class OllamaProvider:
    """An Ollama server through the official client, constrained by `format=` the schema."""

    def __init__(self, config: TierSettings) -> None:
        self.config = config
        self.client = ollama.Client(host=config.base_url, timeout=config.timeout_s)

    def complete(self, *, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
                 logprobs: bool = False) -> Completion:
        started = time.monotonic()
        try:
            response = self.client.chat(model=self.config.model, messages=messages, format=schema, stream=False,
                                        options={"temperature": 0, "num_predict": max_tokens,
                                                 **self.config.options})
        except httpx.TimeoutException as error:
            raise ProviderFailure(FailureKind.TIMEOUT, str(error)) from error
        except (ConnectionError, httpx.TransportError) as error:
            raise ProviderFailure(FailureKind.REFUSED, str(error)) from error
        except ollama.ResponseError as error:
            raise _status_failure(error.status_code, error.error, {}) from error
        finish = response.done_reason or ("stop" if response.done else "")
        return Completion(content=response.message.content or "", finish_reason="length" if finish == "length"
                          else finish, tokens_in=response.prompt_eval_count or 0,
                          tokens_out=response.eval_count or 0, model=_model_name(response.model, self.config.model),
                          latency_s=time.monotonic() - started)


def build_provider(config: TierSettings) -> Provider:
    return OllamaProvider(config) if config.kind == "ollama" else OpenAIProvider(config)


def _model_name(answered: str | None, configured: str) -> str:
    """The model that answered, as the server names it (llama.cpp may answer "-")."""
    return answered if answered and answered.strip("- ") else configured


def _status_failure(status: int, message: str, headers: Any) -> ProviderFailure:
    if status == 429:
        return ProviderFailure(FailureKind.RATE_LIMITED, message, retry_after=_retry_after(headers))
    if status >= 500 or status == 408:
        return ProviderFailure(FailureKind.SERVER_ERROR, f"HTTP {status}: {message}")
    return ProviderFailure(FailureKind.CLIENT_ERROR, f"HTTP {status}: {message}")


def _retry_after(headers: Any) -> float | None:
    """Seconds from `Retry-After` (seconds form) or `retry-after-ms`; None when absent."""
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        if headers.get("retry-after"):
            return float(headers["retry-after"])
    except (TypeError, ValueError):
        return None
    return None
