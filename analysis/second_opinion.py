"""A second opinion on uncertain sentiments.

The model's certainty is read from the token log-probabilities of the sentiment value in
its answer. Below the tier's `second_pass_below`, a short sentiment-only prompt is asked
too, and the two distributions are averaged: two differently worded questions to the same
model disagree mostly where it is unsure, and averaging settles those cases better than
either alone.
"""

from __future__ import annotations

import json
import math
import re

from analysis import schema
from analysis.providers import Completion

FIELD = "sentiment"
VALUES = schema.VOCABULARY[FIELD]
_BEFORE_VALUE = re.compile(rf'"{FIELD}"\s*:\s*"?$')


def distribution(completion: Completion) -> dict[str, float] | None:
    """P(value) for the sentiment, at the token where the model chose it; None when the
    provider gave no log-probabilities or the answer has no sentiment."""
    if not completion.token_logprobs:
        return None
    text = ""
    for token, alternatives in completion.token_logprobs:
        if _BEFORE_VALUE.search(text) and token.strip(' "'):
            return _normalised(alternatives or [(token, 0.0)])
        text += token
    return None


def _normalised(alternatives: list[tuple[str, float]]) -> dict[str, float] | None:
    mass: dict[str, float] = {}
    for alternative, logprob in alternatives:
        prefix = alternative.strip(' "').lower()
        matches = [v for v in VALUES if prefix and v.startswith(prefix)]
        if len(matches) == 1:
            mass[matches[0]] = mass.get(matches[0], 0.0) + math.exp(logprob)
    total = sum(mass.values())
    return {value: p / total for value, p in mass.items()} if total else None


def settle(first: dict[str, float], second_answer: Completion) -> str | None:
    """The sentiment after the second opinion: the average of both distributions' argmax
    (the second answer alone when it carries no probabilities)."""
    try:
        said = json.loads(second_answer.content, strict=False).get(FIELD)
    except (ValueError, AttributeError):
        return None
    if said not in VALUES:
        return None
    second = distribution(second_answer) or {said: 1.0}
    merged = {v: (first.get(v, 0.0) + second.get(v, 0.0)) / 2 for v in VALUES}
    return max(merged, key=merged.get)


def answer_schema() -> dict:
    return {"type": "object", "properties": {FIELD: {"type": "string", "enum": list(VALUES)}},
            "required": [FIELD], "additionalProperties": False}
