"""One-line summaries, written apart from the labels and only where they save an agent
reading: a conversation of several customer tweets, or a long text. A one-tweet ticket
shows its cleaned text instead. Written in the background on the refinement cluster, so
neither labelling nor routing ever waits on them."""

from __future__ import annotations

import json

from analysis import health, prompts
from analysis.chain import default_chain
from analysis.providers import ProviderFailure
from dallosh import vocabulary

LONG_TEXT_CHARS = 280  # longer than one tweet: worth a line
SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"],
          "additionalProperties": False}


def worth_summarising(*, text: str, customer_tweets: int) -> bool:
    return customer_tweets > 1 or len(text) > LONG_TEXT_CHARS


def summarise(text: str) -> tuple[str, str] | None:
    """(summary, provider) from the first LLM tier that writes one; None when none does."""
    messages = prompts.summary_messages(prompts.Item(id="s", text=text))
    for provider in default_chain(llm_only=True).tiers:
        name = provider.config.name
        if not health.breaker_allows(name):
            continue
        try:
            completion = provider.complete(messages=messages, schema=SCHEMA, max_tokens=prompts.SUMMARY_TOKENS)
        except ProviderFailure as failure:
            health.record_failure(name, str(failure))
            continue
        health.record_success(name)
        try:
            summary = json.loads(completion.content, strict=False).get("summary")
        except (ValueError, AttributeError):
            continue
        if isinstance(summary, str) and summary.strip():
            return vocabulary.shorten(summary), name
    return None
