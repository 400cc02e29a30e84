"""How sure a model was of each label it gave, read from its token log-probabilities.

llama.cpp and OpenAI return, for each token of the answer, the most likely alternatives
and their log-probabilities. Where the answer starts a label's value, those alternatives
are the model's distribution over the vocabulary: P(value) is the mass of the
alternatives that start that value and no other, renormalised over the vocabulary.
"""

from __future__ import annotations

import math
import re

from analysis.providers import Completion
from dallosh import vocabulary

BOOLEAN_VALUES = ("true", "false")


def values_of(field: str) -> tuple[str, ...]:
    return BOOLEAN_VALUES if field == "actionable" else vocabulary.VOCABULARY[field]


def distribution(completion: Completion, field: str) -> dict[str, float] | None:
    """P(value) for `field`, at the token where the model chose it; None when the provider
    gave no log-probabilities or the answer has no such field."""
    if not completion.token_logprobs:
        return None
    before_value = re.compile(rf'"{field}"\s*:\s*"?$')
    text = ""
    for token, alternatives in completion.token_logprobs:
        if before_value.search(text) and token.strip(' "'):
            return _normalised(alternatives or [(token, 0.0)], values_of(field))
        text += token
    return None


def confidences(completion: Completion, labels: dict[str, str]) -> dict[str, float]:
    """The probability the model gave each label it chose (fields it gave none for are left out)."""
    found = {}
    for field, value in labels.items():
        spread = distribution(completion, field)
        if spread is not None:
            found[field] = round(spread.get(str(value).lower(), 0.0), 4)
    return found


def _normalised(alternatives: list[tuple[str, float]], values: tuple[str, ...]) -> dict[str, float] | None:
    mass: dict[str, float] = {}
    for alternative, logprob in alternatives:
        prefix = alternative.strip(' "').lower()
        matches = [v for v in values if prefix and v.startswith(prefix)]
        if len(matches) == 1:
            mass[matches[0]] = mass.get(matches[0], 0.0) + math.exp(logprob)
    total = sum(mass.values())
    return {value: p / total for value, p in mass.items()} if total else None
