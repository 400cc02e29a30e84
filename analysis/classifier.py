"""The fast tier: per-field heads on multilingual sentence embeddings label every ticket in
milliseconds, so tickets are routed at once and the LLM only refines the unsure ones.

Each field (sentiment, topic, urgency, team, actionable) has a multinomial logistic head on
the embedding of the customer's words (analysis/embeddings.py), with a temperature fitted
on a held-out split so its probabilities mean what they say, and a threshold: the lowest
probability at which the head's answers on that split still agree with their labels at
TARGET_PRECISION. A ticket with every field at or above its threshold is final; the others
are routed on the fast labels at once and queued for the LLM to refine.

The heads learn from three sources, each weighed and recorded with the version: people's
labels from the dev sets (sentiment), the project's own LLM chain on real tweets (the
teacher, for every field) and agents' corrections (weighed highest). Starter heads ship
with the project (analysis/heads/starter.npz, rebuilt by `python -m bench.heads --write`),
so a fresh install routes from its first ticket. Later versions live in MongoDB (GridFS)
so every worker loads the same one; a training replaces the active version only when it
agrees better on the new held-out split.

A version is a small .npz of numpy arrays and a JSON header: no pickle, nothing executed
when it is loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import gridfs
import numpy as np
from django.conf import settings
from mongoengine.errors import NotUniqueError

from analysis import embeddings
from analysis.evaluation import score
from analysis.models import ClassifierVersion
from dallosh import vocabulary
from dallosh.mongo import database

logger = logging.getLogger(__name__)

TIER = "fast"  # its name as a provider: on analyses, in the ledger, for `--provider`
FIELDS = vocabulary.LABEL_FIELDS
BOOLEAN_CLASSES = ("true", "false")
TARGET_PRECISION = 0.9
SOURCE_WEIGHTS = {"labelled": 1.0, "team": 1.0, "dev": 1.0, "teacher": 1.0, "refined": 1.0, "correction": 3.0}
HELD_OUT_SHARE = 0.2
MIN_HELD_OUT_FOR_THRESHOLD = 20
NEVER = 1.01  # a threshold no probability reaches: the field is never final alone
STARTER_FILE = Path(__file__).with_name("heads") / "starter.npz"
TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 41))


def classes_of(field_name: str) -> tuple[str, ...]:
    return BOOLEAN_CLASSES if field_name == "actionable" else vocabulary.VOCABULARY[field_name]


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    labels: dict[str, str]  # field -> value ("true"/"false" for actionable); a source may give only some
    weight: float = 1.0
    source: str = "teacher"  # a key of SOURCE_WEIGHTS
    language: str | None = None  # en | fr where known
    author: str | None = None  # the agent, for a correction (their weight together is capped)


@dataclass(frozen=True)
class Prediction:
    labels: dict[str, str]
    confidence: dict[str, float]
    thresholds: dict[str, float] = field(repr=False, compare=False)

    @property
    def unsure_fields(self) -> list[str]:
        return [f for f in FIELDS if not self.confident_in(f)]

    @property
    def confident(self) -> bool:
        """Every field at or above its threshold: final without the LLM."""
        return not self.unsure_fields

    def confident_in(self, field_name: str) -> bool:
        return self.confidence[field_name] >= self.thresholds.get(field_name, NEVER)

    def analysis(self) -> vocabulary.Analysis:
        """As the chain's answers are; a fast label carries no summary (the ticket shows the
        customer's cleaned words, or a summary written apart where it helps)."""
        return vocabulary.Analysis(sentiment=self.labels["sentiment"], topic=self.labels["topic"],
                               urgency=self.labels["urgency"], team=self.labels["team"],
                               actionable=self.labels["actionable"] == "true")


@dataclass
class Head:
    """One field's logistic head: P(class) = softmax((x·Wᵀ + b) / temperature)."""

    classes: np.ndarray
    weights: np.ndarray  # (classes, dim)
    bias: np.ndarray  # (classes,)
    temperature: float = 1.0

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        return vectors @ self.weights.T + self.bias

    def probabilities(self, vectors: np.ndarray, temperature: float | None = None) -> np.ndarray:
        scaled = self.logits(vectors) / (temperature or self.temperature)
        scaled -= scaled.max(axis=1, keepdims=True)
        exp = np.exp(scaled)
        return exp / exp.sum(axis=1, keepdims=True)


class Classifier:
    """The heads of one version, on one encoder, with their thresholds."""

    def __init__(self, *, encoder: str, heads: dict[str, Head], thresholds: dict[str, float] | None = None,
                 version: int = 0, provenance: dict | None = None) -> None:
        self.encoder = encoder
        self.heads = heads
        self.thresholds = thresholds or {f: NEVER for f in FIELDS}
        self.version = version
        self.provenance = provenance or {}

    @property
    def name(self) -> str:
        return f"{self.encoder}-heads-v{self.version}"

    def embed(self, texts: list[str]) -> np.ndarray:
        return embeddings.encoder(self.encoder).encode(texts)

    def predict(self, texts: list[str]) -> list[Prediction]:
        return self.predict_vectors(self.embed(texts)) if texts else []

    def probabilities(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Each field's calibrated class probabilities (columns in `heads[field].classes`
        order). The team follows the topic as LABELS.md's default routing does: P(team) is
        the mass of the topics routed to it, plus, for the topics that leave the team to the
        content (customer_service, other), their mass shared by the team head."""
        found = {f: head.probabilities(vectors) for f, head in self.heads.items()}
        return found | {"team": self._team_from_topic(found)}

    def _team_from_topic(self, found: dict[str, np.ndarray]) -> np.ndarray:
        teams = [str(c) for c in self.heads["team"].classes]
        topic, team_head = found["topic"], found["team"]
        team = np.zeros_like(team_head)
        open_mass = np.zeros(len(topic))
        for column, topic_name in enumerate(str(c) for c in self.heads["topic"].classes):
            routed = vocabulary.TOPIC_TEAM.get(topic_name)
            if routed in teams:
                team[:, teams.index(routed)] += topic[:, column]
            else:
                open_mass += topic[:, column]
        return team + open_mass[:, None] * team_head

    def predict_vectors(self, vectors: np.ndarray) -> list[Prediction]:
        per_field = {}
        for field_name, probabilities in self.probabilities(vectors).items():
            best = probabilities.argmax(axis=1)
            per_field[field_name] = (self.heads[field_name].classes[best], probabilities[np.arange(len(vectors)), best])
        predictions = []
        for row in range(len(vectors)):
            labels = {f: str(values[row]) for f, (values, _) in per_field.items()}
            confidence = {f: round(float(probs[row]), 4) for f, (_, probs) in per_field.items()}
            predictions.append(Prediction(labels, confidence, dict(self.thresholds)))
        return predictions

    # --- a version as bytes: numpy arrays and a JSON header, never a pickle ---------------------

    def to_bytes(self) -> bytes:
        arrays = {}
        for field_name, head in self.heads.items():
            arrays[f"{field_name}.classes"] = head.classes.astype(str)
            arrays[f"{field_name}.weights"] = head.weights.astype(np.float32)
            arrays[f"{field_name}.bias"] = head.bias.astype(np.float32)
        header = {"encoder": self.encoder, "version": self.version, "thresholds": self.thresholds,
                  "temperatures": {f: h.temperature for f, h in self.heads.items()}, "provenance": self.provenance}
        buffer = io.BytesIO()
        np.savez_compressed(buffer, header=np.array(json.dumps(header)), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Classifier:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            header = json.loads(str(stored["header"]))
            heads = {f: Head(classes=stored[f"{f}.classes"], weights=stored[f"{f}.weights"],
                             bias=stored[f"{f}.bias"], temperature=header["temperatures"][f]) for f in FIELDS}
        return cls(encoder=header["encoder"], heads=heads, thresholds=header["thresholds"],
                   version=header["version"], provenance=header.get("provenance", {}))


def held_out(example_id: str) -> bool:
    """A stable split: the same ticket or tweet is always on the same side."""
    return int(hashlib.sha256(example_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < HELD_OUT_SHARE


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    return [e for e in examples if not held_out(e.id)], [e for e in examples if held_out(e.id)]


def fit(examples: list[Example], *, encoder: str = embeddings.DEFAULT_ENCODER,
        vectors: np.ndarray | None = None) -> Classifier:
    """One head per field on the examples that carry that field's label, weighed by source."""
    from sklearn.linear_model import LogisticRegression

    vectors = fit_vectors = vectors if vectors is not None else embeddings.encoder(encoder).encode(
        [e.text for e in examples])
    heads = {}
    for field_name in FIELDS:
        rows = [i for i, e in enumerate(examples) if field_name in e.labels]
        target = np.array([examples[i].labels[field_name] for i in rows])
        if len(set(target)) < 2:
            raise ValueError(f"{field_name}: the examples hold {len(set(target))} distinct label(s); "
                             "a head needs at least two")
        model = LogisticRegression(C=2.0, max_iter=3000)
        model.fit(fit_vectors[rows], target, sample_weight=np.array([examples[i].weight for i in rows]))
        weights, bias = model.coef_, model.intercept_
        if len(model.classes_) == 2:  # sklearn keeps one row for two classes: softmax([0, z]) = sigmoid(z)
            weights, bias = np.vstack([np.zeros_like(weights[0]), weights[0]]), np.array([0.0, bias[0]])
        heads[field_name] = Head(classes=model.classes_.astype(str), weights=weights, bias=bias)
    sources = {}
    for example in examples:
        sources[example.source] = sources.get(example.source, 0) + 1
    return Classifier(encoder=encoder, heads=heads, provenance={
        "sources": sources, "weights": {s: SOURCE_WEIGHTS.get(s, 1.0) for s in sources},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds")})


@dataclass(frozen=True)
class Evaluation:
    agreement: dict[str, float]  # field -> share of held-out answers equal to the labels
    macro_f1: dict[str, float]
    thresholds: dict[str, float]
    coverage: dict[str, float]  # field -> share of held-out answers at or above its threshold
    accepted_share: float  # tweets every field of which clears its threshold (final without an LLM)
    accepted_precision: float  # of those, the share with every field right
    held_out: int

    @property
    def score(self) -> float:
        return sum(self.agreement.values()) / len(self.agreement)


def evaluate(classifier: Classifier, examples: list[Example], *, calibrate: bool = False,
             vectors: np.ndarray | None = None) -> Evaluation:
    """Agreement per field on `examples` (the held-out split; each field on the examples that
    carry it); with `calibrate`, each head's temperature and threshold are fitted here first."""
    vectors = vectors if vectors is not None else classifier.embed([e.text for e in examples])
    agreement, macro, coverage = {}, {}, {}
    for field_name in FIELDS:  # topic before team: the team's probabilities follow the topic's
        rows = [i for i, e in enumerate(examples) if field_name in e.labels]
        gold = [examples[i].labels[field_name] for i in rows]
        head = classifier.heads[field_name]
        if calibrate and rows:
            head.temperature = _temperature(head, vectors[rows], gold)
        probabilities = (classifier.probabilities(vectors[rows])[field_name] if rows
                         else np.zeros((0, len(head.classes))))
        guessed = [str(head.classes[i]) for i in probabilities.argmax(axis=1)]
        confidence = probabilities.max(axis=1).tolist()
        scores = score(gold, guessed, labels=classes_of(field_name))
        agreement[field_name], macro[field_name] = scores.accuracy, scores.macro_f1
        if calibrate:
            classifier.thresholds[field_name] = threshold_for(
                confidence, [g == a for g, a in zip(gold, guessed, strict=True)])
        taken = [c >= classifier.thresholds[field_name] for c in confidence]
        coverage[field_name] = sum(taken) / len(taken) if taken else 0.0
    complete = [i for i, e in enumerate(examples) if all(f in e.labels for f in FIELDS)]
    predictions = classifier.predict_vectors(vectors[complete]) if complete else []
    accepted = [(p, examples[i]) for p, i in zip(predictions, complete, strict=True) if p.confident]
    right = sum(all(p.labels[f] == e.labels[f] for f in FIELDS) for p, e in accepted)
    return Evaluation(agreement=agreement, macro_f1=macro, thresholds=dict(classifier.thresholds),
                      coverage=coverage, accepted_share=len(accepted) / len(complete) if complete else 0.0,
                      accepted_precision=right / len(accepted) if accepted else 1.0, held_out=len(examples))


def _temperature(head: Head, vectors: np.ndarray, gold: list[str]) -> float:
    """The temperature that minimises the held-out negative log-likelihood."""
    index = {c: i for i, c in enumerate(head.classes)}
    known = [(row, index[g]) for row, g in enumerate(gold) if g in index]
    if not known:
        return 1.0
    rows, columns = zip(*known, strict=True)
    losses = [-np.log(head.probabilities(vectors[list(rows)], t)[np.arange(len(rows)), columns] + 1e-12).mean()
              for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def report_lines(evaluation: Evaluation) -> list[str]:
    """An evaluation as the training command and the benchmarks print it."""
    lines = [f"{'field':<12}{'agreement':>11}{'macro-F1':>10}{'threshold':>11}{'sure':>8}"]
    for field_name in FIELDS:
        threshold = evaluation.thresholds[field_name]
        shown = "never" if threshold >= NEVER else f"{threshold:.3f}"
        lines.append(f"{field_name:<12}{evaluation.agreement[field_name]:>11.3f}{evaluation.macro_f1[field_name]:>10.3f}"
                     f"{shown:>11}{evaluation.coverage[field_name]:>8.1%}")
    right = (f"{evaluation.accepted_precision:.1%} of them right on every field" if evaluation.accepted_share
             else "none: no field reached its precision on enough held-out tweets")
    lines.append(f"final without the LLM (every field at its >= {TARGET_PRECISION:.0%} threshold): "
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


# --- storage: the shipped starter, versions in MongoDB, the active one cached per process -----------


class VersionCorrupt(ValueError):
    """A stored version whose arrays no longer hash to what was recorded when it was saved."""


def save(classifier: Classifier, evaluation: Evaluation, *, trained_on: int, corrections: int,
         activate: bool, judged: Evaluation | None = None, slice_name: str | None = None) -> ClassifierVersion:
    """Store a version (its arrays in GridFS with their sha256, its figures beside them),
    inactive, under the next free number; with `activate`, then make it the active one."""
    while True:
        latest = ClassifierVersion.objects.order_by("-version").only("version").first()
        classifier.version = max(latest.version if latest else 0, starter_version()) + 1
        data = classifier.to_bytes()
        blob_id = _blobs().put(data)
        try:
            record = _record(classifier, evaluation, blob_id=blob_id, sha256=hashlib.sha256(data).hexdigest(),
                             trained_on=trained_on, corrections=corrections, judged=judged,
                             slice_name=slice_name).save(force_insert=True)
        except NotUniqueError:  # another process took that number between the read and the insert
            _blobs().delete(blob_id)
            continue
        break
    if activate:
        make_active(version=record.version)
        record.reload()
    return record


def _record(classifier: Classifier, evaluation: Evaluation, *, blob_id, sha256: str, trained_on: int,
            corrections: int, judged: Evaluation | None, slice_name: str | None) -> ClassifierVersion:
    return ClassifierVersion(
        version=classifier.version, created_at=datetime.now(UTC), blob_id=blob_id, sha256=sha256, active=False,
        encoder=classifier.encoder, sources=classifier.provenance.get("sources", {}),
        trained_on=trained_on, corrections=corrections, held_out=evaluation.held_out,
        agreement=evaluation.agreement, macro_f1=evaluation.macro_f1, thresholds=evaluation.thresholds,
        coverage=evaluation.coverage, accepted_share=evaluation.accepted_share,
        accepted_precision=evaluation.accepted_precision, score=evaluation.score,
        slice_name=slice_name, slice_score=judged.score if judged else None,
        slice_agreement=judged.agreement if judged else {})


def make_active(*, version: int | None) -> None:
    """Make `version` the active one (None: the shipped starter) without a moment where a
    reader finds none: the new one is marked first, with the latest activation time
    (readers take the latest activated), and only then are the versions activated before
    the newest one unmarked. Two activations at once both end on the later one: neither
    unmarks a version newer than every other (unmarking all but its own, each would unmark
    the other's)."""
    if version is None:
        ClassifierVersion.objects(active=True).update(set__active=False)
    else:
        load(ClassifierVersion.objects.get(version=version))  # refuses a version whose hash does not match
        ClassifierVersion.objects(version=version).update(set__active=True, set__activated_at=datetime.now(UTC))
        newest = ClassifierVersion.objects(active=True).order_by("-activated_at").only("activated_at").first()
        if newest is not None:  # None: a rollback to the starter unmarked them all meanwhile
            ClassifierVersion.objects(active=True, activated_at__lt=newest.activated_at).update(set__active=False)
    forget_cache()


def starter() -> Classifier | None:
    """The heads that ship with the project, or None where the file is absent."""
    if not STARTER_FILE.is_file():
        return None
    return Classifier.from_bytes(STARTER_FILE.read_bytes())


def starter_version() -> int:
    shipped = _cache.get("starter") or starter()
    return shipped.version if shipped else 0


_cache: dict = {"checked": 0.0, "version": None, "classifier": None, "starter": None}


def active() -> Classifier | None:
    """The active version (the shipped starter until a training activates another), loaded
    once per process and re-checked every HEADS_RELOAD_S (60 s: a rollback reaches every
    worker within a minute); None when the fast tier is off."""
    if not settings.DALLOSH_ANALYSIS.fast_tier:
        return None
    if time.monotonic() - _cache["checked"] < settings.DALLOSH_ANALYSIS.heads_reload_s:
        return _cache["classifier"]
    _cache["checked"] = time.monotonic()
    record = ClassifierVersion.objects(active=True).order_by("-activated_at").only(
        "version", "blob_id", "sha256").first()
    if record is None or record.version != _cache["version"]:
        try:
            loaded = load(record) if record else _starter_cached()
        except VersionCorrupt:
            logger.exception("classifier version %s refused; the workers keep version %s",
                             record.version, _cache["version"] or "starter")
            return _cache["classifier"] or _starter_cached()
        _cache.update(version=record.version if record else None, classifier=loaded)
    return _cache["classifier"]


def _starter_cached() -> Classifier | None:
    if _cache["starter"] is None:
        _cache["starter"] = starter()
    return _cache["starter"]


def _blobs() -> gridfs.GridFS:
    return gridfs.GridFS(database(), collection="classifier_blobs")


def load(record: ClassifierVersion) -> Classifier:
    """The stored version, refused (VersionCorrupt) when its arrays do not hash to the sha256
    recorded at saving; versions saved before hashes were kept load unchecked."""
    data = _blobs().get(record.blob_id).read()
    if record.sha256 and hashlib.sha256(data).hexdigest() != record.sha256:
        raise VersionCorrupt(f"version {record.version}: its stored arrays do not match their sha256; "
                             "retrain, or activate another version")
    return Classifier.from_bytes(data)


def forget_cache() -> None:
    _cache.update(checked=0.0, version=None, classifier=None)
