"""A second opinion on uncertain sentiments.

The model's certainty is read from the token log-probabilities of the sentiment value in
its answer. Below the tier's `second_pass_below`, a short sentiment-only prompt is asked
too, and the two distributions are averaged: two differently worded questions to the same
model disagree mostly where it is unsure, and averaging settles those cases better than
either alone.
"""

from __future__ import annotations

import json

from analysis import certainty
from analysis.providers import Completion
from dallosh import vocabulary

FIELD = "sentiment"
VALUES = vocabulary.VOCABULARY[FIELD]


def distribution(completion: Completion) -> dict[str, float] | None:
    """P(value) for the sentiment, at the token where the model chose it."""
    return certainty.distribution(completion, FIELD)


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
