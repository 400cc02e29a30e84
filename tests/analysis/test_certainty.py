"""How sure a model was of each label, read from its token log-probabilities
(analysis/certainty.py): the alternatives at the token that starts a label's value, each
counted for the one value it starts, renormalised over the vocabulary. The completions are
written here by hand, as llama.cpp and OpenAI return them."""

from __future__ import annotations

import math

import pytest

from analysis import certainty
from analysis.providers import Completion

pytestmark = pytest.mark.no_servers


def answered(*tokens: tuple[str, list[tuple[str, float]]]) -> Completion:
    content = "".join(token for token, _ in tokens)
    return Completion(content=content, finish_reason="stop", tokens_in=10, tokens_out=len(tokens), model="m",
                      latency_s=0.1, token_logprobs=list(tokens))


def odds(**probabilities: float) -> list[tuple[str, float]]:
    return [(token, math.log(p)) for token, p in probabilities.items()]


ANSWER = answered(('{"sentiment": "', []),
                  ("neg", odds(neg=0.6, neu=0.2, pos=0.1, xyz=0.1)),  # "xyz" starts no sentiment
                  ('ative", "topic": "', []),
                  ("c", odds(c=0.5, net=0.3, bill=0.2)),  # "c" starts commercial and customer_service
                  ('ommercial", "actionable": ', []),
                  ("true", odds(true=0.8, false=0.2)),
                  ("}", []))


def test_the_alternatives_are_renormalised_over_the_fields_vocabulary():
    spread = certainty.distribution(ANSWER, "sentiment")
    assert spread == pytest.approx({"negative": 0.6 / 0.9, "neutral": 0.2 / 0.9, "positive": 0.1 / 0.9})


def test_an_alternative_that_starts_two_values_counts_for_neither():
    assert certainty.distribution(ANSWER, "topic") == pytest.approx({"network": 0.6, "billing": 0.4})


def test_each_chosen_label_gets_its_probability_and_a_field_without_one_is_left_out():
    labels = {"sentiment": "negative", "topic": "commercial", "actionable": True, "urgency": "high"}
    # commercial has no mass of its own ("c" was ambiguous); urgency never appears in the answer
    assert certainty.confidences(ANSWER, labels) == {"sentiment": 0.6667, "topic": 0.0, "actionable": 0.8}


def test_without_log_probabilities_nothing_is_known():
    plain = Completion(content='{"sentiment": "negative"}', finish_reason="stop", tokens_in=1, tokens_out=1,
                       model="m", latency_s=0.1)
    assert certainty.distribution(plain, "sentiment") is None
    assert certainty.confidences(plain, {"sentiment": "negative"}) == {}
