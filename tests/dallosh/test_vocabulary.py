"""The vocabulary every stage shares (dallosh/vocabulary.py): exactly ../shared/LABELS.md's
values, answers validated against it (forgiving case, spaces and a long summary, nothing
else), the values as people read them in French and English, and the one definition of the
labels and doubts that stand for a ticket once an agent or the LLM has had its say."""

import re

import pytest
from django.utils import translation

from dallosh import vocabulary

pytestmark = pytest.mark.no_servers

VALID = {"sentiment": "negative", "topic": "network", "urgency": "high", "team": "tech", "actionable": True,
         "summary": "Fibre down since Monday in Lyon"}
MODEL = {"sentiment": "neutral", "topic": "network", "urgency": "low", "team": "tech", "actionable": False}


def labels_table(shared_data) -> dict[str, set[str]]:
    """field -> values, read from the table of LABELS.md (independently of the code)."""
    text = (shared_data.parent / "LABELS.md").read_text(encoding="utf-8")
    table = {}
    for field, values in re.findall(r"^\| `(\w+)` \| ([^|]+) \|", text, flags=re.MULTILINE):
        table[field] = set(re.findall(r"`([^`]+)`", values))
    return table


def test_vocabulary_matches_labels_md(shared_data):
    table = labels_table(shared_data)
    for field, values in vocabulary.VOCABULARY.items():
        assert set(values) == table[field], field
    assert table["actionable"] == {"true", "false"}
    assert set(vocabulary.FIELDS) == set(table) | {"summary"}


def test_valid_answer_is_normalised():
    analysis = vocabulary.validate({**VALID, "topic": " Network ", "summary": "Fibre  down\nsince Monday"})
    assert analysis.topic == "network" and analysis.summary == "Fibre down since Monday"


def test_an_answer_without_a_summary_is_valid():
    labels = {k: v for k, v in VALID.items() if k != "summary"}
    assert vocabulary.validate(labels).summary == ""


def test_a_long_summary_is_cut_at_a_word_boundary_within_140_characters():
    words = "la fibre est coupée depuis lundi soir à Lyon et personne ne répond au service client " * 3
    summary = vocabulary.validate({**VALID, "summary": words}).summary
    assert len(summary) <= 140 and summary.endswith("…")
    assert words.startswith(summary[:-1]) and words[len(summary) - 1] == " "


@pytest.mark.parametrize(("change", "problem"), [
    ({"topic": "weather"}, "topic='weather' is not one of"),
    ({"urgency": None}, "urgency=None is not one of"),
    ({"actionable": "yes"}, "actionable='yes' is not true or false"),
    ({"summary": 12}, "summary=12 is not text"),
    ({"route_to": "billing"}, "unexpected field 'route_to'"),
])
def test_answers_outside_the_vocabulary_are_refused(change, problem):
    with pytest.raises(vocabulary.InvalidAnalysis) as refused:
        vocabulary.validate({**VALID, **change})
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems


def test_non_object_answer_is_refused():
    with pytest.raises(vocabulary.InvalidAnalysis, match="expected a JSON object"):
        vocabulary.validate(["negative"])


def test_an_answer_wrong_in_several_ways_names_every_problem():
    with pytest.raises(vocabulary.InvalidAnalysis) as refused:
        vocabulary.validate({**VALID, "topic": "weather", "team": "sales", "actionable": 1})
    assert len(refused.value.problems) == 3, refused.value.problems


def test_values_read_in_the_readers_language_and_unknown_ones_as_words():
    with translation.override("fr"):
        assert vocabulary.name("customer_service") == "service client"
        assert vocabulary.name("network") == "réseau"
        assert vocabulary.choices("urgency") == [("high", "Haute"), ("medium", "Moyenne"), ("low", "Basse")]
    with translation.override("en"):
        assert vocabulary.name("customer_service") == "customer service"
        assert vocabulary.choices("team") == [("tech", "Tech"), ("billing", "Billing"), ("commercial", "Commercial")]
    assert vocabulary.name("out_of_scope") == "out of scope"


def test_a_correction_stands_over_the_model_and_its_topic_brings_its_team():
    correction = {"sentiment": "negative", "topic": "billing", "urgency": "high", "actionable": True}
    assert vocabulary.labels_in_force(MODEL, correction) == {
        "sentiment": "negative", "topic": "billing", "urgency": "high", "team": "billing", "actionable": True}
    # LABELS.md: customer_service goes to the team the content points to (the model's), not a default one.
    kept = vocabulary.labels_in_force(MODEL, {**correction, "topic": "customer_service"})
    assert (kept["topic"], kept["team"]) == ("customer_service", "tech")
    assert vocabulary.labels_in_force(MODEL, None) == MODEL
    assert vocabulary.labels_in_force(None, None) == dict.fromkeys(vocabulary.LABEL_FIELDS)


def test_a_doubt_stands_until_a_person_or_the_llm_settles_it():
    doubted = {**MODEL, "unsure": ["topic", "urgency"]}
    assert vocabulary.unsure_in_force(doubted, None, refining=True)  # the LLM is still to refine it
    assert not vocabulary.unsure_in_force(doubted, {"topic": "billing"}, refining=True)  # an agent corrected it
    settled = {**doubted, "refine_fields": ["topic", "urgency"]}  # the LLM was handed both and answered
    assert not vocabulary.unsure_in_force(settled, None, refining=False)
    assert vocabulary.unsure_in_force({**settled, "suggestion": {"topic": "billing"}}, None, refining=False)
    assert not vocabulary.unsure_in_force(MODEL, None, refining=True)  # nothing doubted


def test_doubts_no_llm_was_handed_are_left_to_people():
    handed_topic_only = {**MODEL, "unsure": ["topic", "urgency"], "refine_fields": ["topic"]}
    assert vocabulary.doubts_left_to_people(handed_topic_only) == ["urgency"]
    assert vocabulary.unsure_in_force(handed_topic_only, None, refining=False)
    # Written before scorecards (no refine_fields): every doubt was handed on then.
    assert vocabulary.doubts_left_to_people({**MODEL, "unsure": ["topic"]}) == []
    assert vocabulary.doubts_left_to_people(None) == []
