"""Scoring of analysis answers against human labels: accuracy, per-class and macro F1
(scikit-learn's), the confusion matrix. Pure functions, so the figures can be checked by hand."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sklearn.metrics import accuracy_score, precision_recall_fscore_support

NO_ANSWER = "(none)"  # every tier failed on the tweet: counted as wrong, never skipped


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Scores:
    labels: tuple[str, ...]
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassScore, ...]
    confusion: dict[tuple[str, str], int]  # (gold, predicted) -> count
    total: int


def score(gold: list[str], predicted: list[str], *, labels: tuple[str, ...]) -> Scores:
    """Macro-F1 averages the F1 of every label in `labels` (the field's vocabulary), so a
    class the model never predicts counts as 0, not as absent."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted labels differ in length")
    confusion = Counter(zip(gold, predicted, strict=True))
    if not gold:
        return Scores(labels=labels, accuracy=0.0, macro_f1=0.0, per_class=tuple(ClassScore(label, 0.0, 0.0, 0.0, 0)
                      for label in labels), confusion={}, total=0)
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=list(labels),
                                                                     zero_division=0)
    per_class = tuple(ClassScore(label, float(p), float(r), float(f), int(n))
                      for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True))
    return Scores(labels=labels, accuracy=accuracy_score(gold, predicted),
                  macro_f1=sum(c.f1 for c in per_class) / len(per_class) if per_class else 0.0,
                  per_class=per_class, confusion=dict(confusion), total=len(gold))


def confusion_table(scores: Scores) -> str:
    """The confusion matrix as text: rows are the human labels, columns the answers."""
    columns = [*scores.labels, NO_ANSWER]
    width = max(len(c) for c in [*columns, "gold \\ answer"]) + 2
    lines = ["gold \\ answer".ljust(width) + "".join(c.rjust(width) for c in columns)]
    for gold in scores.labels:
        lines.append(gold.ljust(width) + "".join(str(scores.confusion.get((gold, p), 0)).rjust(width)
                                                for p in columns))
    return "\n".join(lines)
