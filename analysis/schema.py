"""The JSON schema every model is held to, built from the shared vocabulary
(dallosh/vocabulary.py): one labelling answer, or a batch of them with their ids."""

from __future__ import annotations

from typing import Any

from dallosh.vocabulary import LABEL_FIELDS, VOCABULARY


def json_schema() -> dict[str, Any]:
    """JSON schema of one labelling answer: the labels only, in LABEL_FIELDS order (strict:
    every label required, nothing else allowed). The shortest form a model can be held to:
    no summary to wait for, and every value a closed choice whose probability can be read."""
    properties: dict[str, Any] = {name: {"type": "string", "enum": list(values)} for name, values in VOCABULARY.items()}
    properties["actionable"] = {"type": "boolean"}
    return {"type": "object", "properties": {name: properties[name] for name in LABEL_FIELDS},
            "required": list(LABEL_FIELDS), "additionalProperties": False}


def batch_json_schema() -> dict[str, Any]:
    """Schema of a batched answer: one item per tweet, each carrying the id it answers."""
    item = json_schema()
    item = {**item, "properties": {"id": {"type": "string"}, **item["properties"]},
            "required": ["id", *item["required"]]}
    return {"type": "object", "properties": {"items": {"type": "array", "items": item}}, "required": ["items"],
            "additionalProperties": False}
