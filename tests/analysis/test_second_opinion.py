"""The second opinion on an unsure sentiment (analysis/second_opinion.py): the first answer's
distribution and the sentiment-only answer's are averaged; an answer without probabilities
counts as sure of what it says; an unusable one settles nothing."""

from __future__ import annotations

import math

import pytest

from analysis import second_opinion
from analysis.providers import Completion

pytestmark = pytest.mark.no_servers

UNSURE_FIRST = {"neutral": 0.5, "negative": 0.4, "positive": 0.1}


def second(content: str, **probabilities: float) -> Completion:
    tokens = None
    if probabilities:
        value = content.split('"sentiment": "')[1].split('"')[0]
        tokens = [('{"sentiment": "', []), (value, [(v, math.log(p)) for v, p in probabilities.items()]),
                  ('"}', [])]
    return Completion(content=content, finish_reason="stop", tokens_in=5, tokens_out=3, model="m", latency_s=0.1,
                      token_logprobs=tokens)


def test_the_two_distributions_are_averaged():
    # neutral (0.5 + 0.05) / 2 = 0.275; negative (0.4 + 0.9) / 2 = 0.65
    answer = second('{"sentiment": "negative"}', negative=0.9, neutral=0.05, positive=0.05)
    assert second_opinion.settle(UNSURE_FIRST, answer) == "negative"


def test_a_second_answer_without_probabilities_counts_as_sure_of_what_it_says():
    # neutral 0.8 / 2 = 0.4 against positive (0.2 + 1) / 2 = 0.6
    assert second_opinion.settle({"neutral": 0.8, "positive": 0.2}, second('{"sentiment": "positive"}')) == "positive"
    # even against a first answer sure of neutral: 0.99 / 2 = 0.495 against negative 1 / 2 = 0.5
    assert second_opinion.settle({"neutral": 0.99, "positive": 0.01},
                                 second('{"sentiment": "negative"}')) == "negative"


@pytest.mark.parametrize("content", ["not json at all", '{"sentiment": "angry"}', '["negative"]', '{"topic": "x"}'])
def test_an_unreadable_or_out_of_vocabulary_second_answer_settles_nothing(content):
    assert second_opinion.settle(UNSURE_FIRST, second(content)) is None


def test_the_second_question_may_only_answer_one_of_the_three_sentiments():
    schema = second_opinion.answer_schema()
    assert schema["required"] == ["sentiment"] and schema["additionalProperties"] is False
    assert sorted(schema["properties"]["sentiment"]["enum"]) == ["negative", "neutral", "positive"]
