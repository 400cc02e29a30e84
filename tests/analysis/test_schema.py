"""The vocabulary in code is exactly ../shared/LABELS.md's, and answers are validated against it."""

import re

import pytest

from analysis import schema
from dallosh import vocabulary

pytestmark = pytest.mark.no_servers

VALID = {"sentiment": "negative", "topic": "network", "urgency": "high", "team": "tech", "actionable": True,
         "summary": "Fibre down since Monday in Lyon"}


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


def test_json_schema_is_strict_and_lists_the_vocabulary(shared_data):
    table = labels_table(shared_data)
    document = schema.json_schema()
    assert document["additionalProperties"] is False
    assert set(document["required"]) == set(document["properties"]) == set(table) - {"summary"}  # labels only
    assert set(document["properties"]["topic"]["enum"]) == table["topic"]
    item = schema.batch_json_schema()["properties"]["items"]["items"]
    assert item["required"][0] == "id" and item["additionalProperties"] is False


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
