"""The distilled fast classifier: a tier that answers without an LLM call when it is sure.

It learns from what the LLM tiers answered, and from what agents corrected (weighted
more: a correction is a person's judgement), one linear model per field over hashed word
and character n-grams (no vocabulary to store, the same features in French and English).
On a held-out split each field gets the lowest confidence threshold at which its answers
still agree with the labels at TARGET_PRECISION; a tweet is taken without an LLM call
only when every field clears its threshold. When every LLM tier fails it answers alone,
threshold or not, so the pipeline never stalls.

Versions are stored in MongoDB (GridFS) with their evaluation, so every worker on every
machine loads the same model; a new training replaces the active version only when it
scores at least as well on the new held-out split.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import joblib
import numpy as np
from django.conf import settings

from analysis import schema
from analysis.corrections import corrected_labels
from analysis.evaluation import score
from analysis.models import ClassifierVersion

logger = logging.getLogger(__name__)

TIER = "classifier"  # its name as a provider: on analyses, in the ledger, for `--provider`
FIELDS = ("sentiment", "topic", "urgency", "team", "actionable")
TARGET_PRECISION = 0.95
CORRECTION_WEIGHT = 3.0
HELD_OUT_SHARE = 0.2
MIN_HELD_OUT_FOR_THRESHOLD = 20
NEVER = 1.01  # a threshold no probability reaches: the field is never taken alone
SUMMARY_WORDS = 12
RELOAD_EVERY_S = 60


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    labels: dict[str, str]  # field -> value ("true"/"false" for actionable)
    weight: float = 1.0


@dataclass(frozen=True)
class Prediction:
    labels: dict[str, str]
    confidence: dict[str, float]
    confident: bool  # every field at or above its threshold

    def analysis(self, text: str) -> schema.Analysis:
        """As the chain's answers are: the labels, and the tweet's first words as the summary."""
        summary = " ".join(text.split()[:SUMMARY_WORDS])
        return schema.Analysis(sentiment=self.labels["sentiment"], topic=self.labels["topic"],
                               urgency=self.labels["urgency"], team=self.labels["team"],
                               actionable=self.labels["actionable"] == "true", summary=summary)


class Classifier:
    """The fitted features and one model per field, with their thresholds."""

    def __init__(self, *, features, models: dict, thresholds: dict[str, float], version: int = 0) -> None:
        self.features = features
        self.models = models
        self.thresholds = thresholds
        self.version = version

    @property
    def name(self) -> str:
        return f"tfidf-linear-v{self.version}"

    def predict(self, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        matrix = self.features.transform(texts)
        per_field = {}
        for field_name, model in self.models.items():
            probabilities = model.predict_proba(matrix)
            best = probabilities.argmax(axis=1)
            per_field[field_name] = (model.classes_[best], probabilities[np.arange(len(texts)), best])
        predictions = []
        for row in range(len(texts)):
            labels = {f: str(values[row]) for f, (values, _) in per_field.items()}
            confidence = {f: float(probs[row]) for f, (_, probs) in per_field.items()}
            confident = all(confidence[f] >= self.thresholds.get(f, NEVER) for f in FIELDS)
            predictions.append(Prediction(labels, confidence, confident))
        return predictions


def labels_of(analysis: dict, correction: dict | None = None) -> dict[str, str]:
    """The labels to learn from a ticket (the agent's correction where there is one), as
    class names: actionable becomes "true" or "false"."""
    labels = corrected_labels(analysis, correction)
    return {f: str(labels[f]).lower() if f == "actionable" else labels[f] for f in FIELDS}


def held_out(example_id: str) -> bool:
    """A stable split: the same ticket is always on the same side."""
    return int(hashlib.sha256(example_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < HELD_OUT_SHARE


def fit(examples: list[Example]) -> Classifier:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_pipeline(
        make_union(HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=2**17, alternate_sign=False),
                   HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=2**17, alternate_sign=False)),
        TfidfTransformer(sublinear_tf=True))
    texts = [e.text for e in examples]
    matrix = features.fit_transform(texts)
    weights = np.array([e.weight for e in examples])
    models = {}
    for field_name in FIELDS:
        target = np.array([e.labels[field_name] for e in examples])
        base = LogisticRegression(C=8.0, max_iter=300)
        if min(np.unique(target, return_counts=True)[1]) >= 3 and len(set(target)) > 1:
            model = CalibratedClassifierCV(base, method="sigmoid", cv=3)  # probabilities a threshold can trust
        else:
            model = base
        if len(set(target)) == 1:
            model = _Constant(target[0])
        model.fit(matrix, target, sample_weight=weights)
        models[field_name] = model
    return Classifier(features=features, models=models, thresholds={f: NEVER for f in FIELDS})


class _Constant:
    """A field whose training labels never vary: always that value, fully sure."""

    def __init__(self, value: str) -> None:
        self.classes_ = np.array([value])

    def fit(self, *_args, **_kwargs) -> _Constant:
        return self

    def predict_proba(self, matrix) -> np.ndarray:
        return np.ones((matrix.shape[0], 1))


@dataclass(frozen=True)
class Evaluation:
    agreement: dict[str, float]  # field -> share of held-out answers equal to the labels
    macro_f1: dict[str, float]
    thresholds: dict[str, float]
    coverage: dict[str, float]  # field -> share of held-out answers at or above its threshold
    accepted_share: float  # tweets every field of which clears its threshold
    accepted_precision: float  # of those, the share with every field right
    held_out: int

    @property
    def score(self) -> float:
        return sum(self.agreement.values()) / len(self.agreement)


def evaluate(classifier: Classifier, examples: list[Example], *, set_thresholds: bool = False) -> Evaluation:
    """Agreement per field on `examples` (the held-out split); with `set_thresholds`, each
    field's threshold is chosen here and stored on the classifier first."""
    predictions = classifier.predict([e.text for e in examples])
    agreement, macro, coverage = {}, {}, {}
    for field_name in FIELDS:
        gold = [e.labels[field_name] for e in examples]
        guessed = [p.labels[field_name] for p in predictions]
        vocabulary = ("true", "false") if field_name == "actionable" else schema.VOCABULARY[field_name]
        scores = score(gold, guessed, labels=tuple(vocabulary))
        agreement[field_name], macro[field_name] = scores.accuracy, scores.macro_f1
        confidence = [p.confidence[field_name] for p in predictions]
        if set_thresholds:
            classifier.thresholds[field_name] = threshold_for(confidence, [g == a for g, a in zip(gold, guessed,
                                                                                                  strict=True)])
        taken = [c >= classifier.thresholds[field_name] for c in confidence]
        coverage[field_name] = sum(taken) / len(taken) if taken else 0.0
    if set_thresholds:
        predictions = classifier.predict([e.text for e in examples])
    accepted = [(p, e) for p, e in zip(predictions, examples, strict=True) if p.confident]
    right = sum(all(p.labels[f] == e.labels[f] for f in FIELDS) for p, e in accepted)
    return Evaluation(agreement=agreement, macro_f1=macro, thresholds=dict(classifier.thresholds),
                      coverage=coverage, accepted_share=len(accepted) / len(examples) if examples else 0.0,
                      accepted_precision=right / len(accepted) if accepted else 1.0, held_out=len(examples))


def report_lines(evaluation: Evaluation) -> list[str]:
    """An evaluation as the training command and the benchmark print it."""
    lines = [f"{'field':<12}{'agreement':>11}{'macro-F1':>10}{'threshold':>11}{'taken alone':>13}"]
    for field_name in FIELDS:
        threshold = evaluation.thresholds[field_name]
        shown = "never" if threshold >= NEVER else f"{threshold:.3f}"
        lines.append(f"{field_name:<12}{evaluation.agreement[field_name]:>11.3f}{evaluation.macro_f1[field_name]:>10.3f}"
                     f"{shown:>11}{evaluation.coverage[field_name]:>13.1%}")
    right = (f"{evaluation.accepted_precision:.1%} of them right on every field" if evaluation.accepted_share
             else "none taken: no field reached its precision on enough held-out tweets")
    lines.append(f"taken without an LLM call (every field at its >= {TARGET_PRECISION:.0%} threshold): "
                 f"{evaluation.accepted_share:.1%} of the held-out tweets; {right}")
    return lines


def threshold_for(confidence: list[float], correct: list[bool]) -> float:
    """The lowest confidence at which the answers at or above it are right at
    TARGET_PRECISION (at least MIN_HELD_OUT_FOR_THRESHOLD of them), else NEVER."""
    ranked = sorted(zip(confidence, correct, strict=True), key=lambda pair: -pair[0])
    best, right = NEVER, 0
    for taken, (value, is_right) in enumerate(ranked, start=1):
        right += is_right
        is_last_of_value = taken == len(ranked) or ranked[taken][0] < value
        if is_last_of_value and taken >= MIN_HELD_OUT_FOR_THRESHOLD and right / taken >= TARGET_PRECISION:
            best = value
    return best


# --- storage: versions in MongoDB, the active one cached per process -------------------------------


def save(classifier: Classifier, evaluation: Evaluation, *, trained_on: int, corrections: int,
         activate: bool) -> ClassifierVersion:
    import gridfs

    from dallosh.mongo import database

    latest = ClassifierVersion.objects.order_by("-version").first()
    classifier.version = (latest.version if latest else 0) + 1
    buffer = io.BytesIO()
    joblib.dump(classifier, buffer, compress=3)
    blob_id = gridfs.GridFS(database(), collection="classifier_blobs").put(buffer.getvalue())
    if activate:
        ClassifierVersion.objects(active=True).update(set__active=False)
    return ClassifierVersion(
        version=classifier.version, created_at=datetime.now(UTC), blob_id=blob_id, active=activate,
        trained_on=trained_on, corrections=corrections, held_out=evaluation.held_out,
        agreement=evaluation.agreement, macro_f1=evaluation.macro_f1, thresholds=evaluation.thresholds,
        coverage=evaluation.coverage, accepted_share=evaluation.accepted_share,
        accepted_precision=evaluation.accepted_precision, score=evaluation.score).save()


_cache: dict = {"checked": 0.0, "version": None, "classifier": None}


def active() -> Classifier | None:
    """The active version, loaded once per process and re-checked every RELOAD_EVERY_S."""
    if not settings.DALLOSH_ANALYSIS.get("CLASSIFIER", True):
        return None
    if time.monotonic() - _cache["checked"] < RELOAD_EVERY_S:
        return _cache["classifier"]
    _cache["checked"] = time.monotonic()
    record = ClassifierVersion.objects(active=True).only("version", "blob_id").first()
    if record is None:
        _cache.update(version=None, classifier=None)
    elif record.version != _cache["version"]:
        _cache.update(version=record.version, classifier=load(record))
    return _cache["classifier"]


def load(record: ClassifierVersion) -> Classifier:
    import gridfs

    from dallosh.mongo import database

    data = gridfs.GridFS(database(), collection="classifier_blobs").get(record.blob_id).read()
    return joblib.load(io.BytesIO(data))


def forget_cache() -> None:
    _cache.update(checked=0.0, version=None, classifier=None)
