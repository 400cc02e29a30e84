"""The analysis vocabulary and result schema: the one copy in code of ../shared/LABELS.md.

The JSON schema sent to every model, the validator of its answers and the choices shown
in forms and the admin all come from here. Nothing else may spell these values out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SENTIMENTS = ("negative", "neutral", "positive")
TOPICS = ("network", "billing", "commercial", "technical", "customer_service", "other")
URGENCIES = ("high", "medium", "low")
TEAMS = ("tech", "billing", "commercial")
SUMMARY_MAX_CHARS = 140

VOCABULARY: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS,
    "topic": TOPICS,
    "urgency": URGENCIES,
    "team": TEAMS,
}
FIELDS = ("sentiment", "topic", "urgency", "team", "actionable", "summary")


class InvalidAnalysis(ValueError):
    """A model answer that does not fit the vocabulary; `problems` says each way it fails."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Analysis:
    sentiment: str
    topic: str
    urgency: str
    team: str
    actionable: bool
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def json_schema() -> dict[str, Any]:
    """JSON schema of one analysis (strict: every field required, nothing else allowed)."""
    properties: dict[str, Any] = {name: {"type": "string", "enum": list(values)} for name, values in VOCABULARY.items()}
    properties["actionable"] = {"type": "boolean"}
    properties["summary"] = {"type": "string", "maxLength": SUMMARY_MAX_CHARS}
    return {"type": "object", "properties": properties, "required": list(FIELDS), "additionalProperties": False}


def batch_json_schema() -> dict[str, Any]:
    """Schema of a batched answer: one item per tweet, each carrying the id it answers."""
    item = json_schema()
    item = {**item, "properties": {"id": {"type": "string"}, **item["properties"]},
            "required": ["id", *item["required"]]}
    return {"type": "object", "properties": {"items": {"type": "array", "items": item}}, "required": ["items"],
            "additionalProperties": False}


def validate(answer: Any) -> Analysis:
    """The answer as an Analysis, or InvalidAnalysis naming every problem.

    Case and surrounding spaces of labels are forgiven; anything outside the vocabulary
    is not.
    """
    if not isinstance(answer, dict):
        raise InvalidAnalysis([f"expected a JSON object, got {type(answer).__name__}"])
    problems = [f"unexpected field {name!r}" for name in answer if name not in FIELDS and name != "id"]
    values: dict[str, Any] = {}
    for name, allowed in VOCABULARY.items():
        raw = answer.get(name)
        value = raw.strip().lower() if isinstance(raw, str) else raw
        if value not in allowed:
            problems.append(f"{name}={raw!r} is not one of {', '.join(allowed)}")
        values[name] = value
    actionable = answer.get("actionable")
    if not isinstance(actionable, bool):
        problems.append(f"actionable={actionable!r} is not true or false")
    summary = answer.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        problems.append("summary is missing or empty")
    elif len(summary.strip()) > SUMMARY_MAX_CHARS:
        problems.append(f"summary is {len(summary.strip())} characters, over {SUMMARY_MAX_CHARS}")
    if problems:
        raise InvalidAnalysis(problems)
    return Analysis(actionable=actionable, summary=" ".join(summary.split()), **values)


def choices(field: str) -> list[tuple[str, str]]:
    """(value, label) pairs for forms and the admin."""
    return [(value, value.replace("_", " ").capitalize()) for value in VOCABULARY[field]]
