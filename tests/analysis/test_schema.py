"""The JSON schema sent to the models (analysis/schema.py) is strict and lists exactly
../shared/LABELS.md's vocabulary (the vocabulary's own tests: tests/dallosh/test_vocabulary.py)."""

import pytest

from analysis import schema
from tests.dallosh.test_vocabulary import labels_table

pytestmark = pytest.mark.no_servers


def test_json_schema_is_strict_and_lists_the_vocabulary(shared_data):
    table = labels_table(shared_data)
    document = schema.json_schema()
    assert document["additionalProperties"] is False
    assert set(document["required"]) == set(document["properties"]) == set(table) - {"summary"}  # labels only
    assert set(document["properties"]["topic"]["enum"]) == table["topic"]
    item = schema.batch_json_schema()["properties"]["items"]["items"]
    assert item["required"][0] == "id" and item["additionalProperties"] is False
