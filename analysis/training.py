"""The fast tier's training and its versions: what the heads learn from, the gate a new
version must pass before it labels a ticket, and the rollback.

Sources (analysis/training_data.py): the labelled tweets outside the evaluation slice, the
team's own requests, the dev sets' sentiment labels, and this install's tickets (what an
LLM tier refined, and agents' corrections, weighed highest). The 1.5 B teacher's labels
are left out: measured beside the careful labels they lower every field (bench/heads.py,
docs/benchmarks.md).

Corrections teach safely:
- one example per distinct text (a tweet corrected on many tickets teaches once), and one
  agent's corrections together weigh at most AUTHOR_WEIGHT_CAP of the training set, so a
  batch of identical wrong labels from one person cannot outvote the labelled set;
- a new version is judged on the fixed, versioned slice of the labelled set that no training
  sees (training_data.EVALUATION_SLICE) and on the corrections' own held-out split; it
  replaces the active version only when it is not worse on the slice (mean agreement, and
  no field lost);
- every version is kept; `manage.py classifier_versions --activate N` rolls back (or
  forward) to any of them, and every worker follows within HEADS_RELOAD_S.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta

import numpy as np

from analysis import classifier, embeddings, selectors, training_data
from analysis.classifier import Evaluation, Example
from analysis.models import ClassifierVersion
from dallosh import leases

MIN_TRAINING_EXAMPLES = 50
FIELD_TOLERANCE = 0.005  # half a point of one field's agreement on the slice (4 tweets of 803)
# One tweet of the slice (all five fields: 1 / 803): a tie. Retrained on the same data, a
# version differs from the one before by a couple of labels (float summation order, BLAS
# threads): measured 2 fields of 4,015 apart; that is not a worse model.
SCORE_TOLERANCE = 0.00125
AUTHOR_WEIGHT_CAP = 0.03  # one agent's corrections: at most 3 % of the training set's weight
NOT_WORD = re.compile(r"\W+")


class VersionUnknown(ValueError):
    """No stored version has that number."""


class TrainingRunning(ValueError):
    """Another training holds the training lease."""


TRAINING_LEASE = "training of the fast tier"
TRAINING_LEASE_TTL = timedelta(hours=2)  # a training takes minutes; a dead one frees it after this


@dataclass(frozen=True)
class TrainingOutcome:
    evaluation: Evaluation  # on the calibration split (thresholds fitted there)
    judged: Evaluation | None  # the new version on the evaluation slice
    previous: Evaluation | None  # the active version on the same slice
    corrections_new: Evaluation | None  # both on the corrections' held-out split
    corrections_previous: Evaluation | None
    version: int
    activated: bool
    trained_on: int
    sources: dict[str, int]  # source -> examples (training and calibration)
    message: str

    @property
    def corrections(self) -> int:
        return self.sources.get("correction", 0)


def base_examples() -> list[Example]:
    """What every version learns from before this install's tickets."""
    return [*training_data.labelled_examples(), *training_data.team_examples(), *training_data.dev_examples()]


def curated(install: list[Example], *, base_weight: float) -> list[Example]:
    """This install's examples, safe to learn from: one per distinct text (a correction wins
    over an LLM's label), and each agent's corrections scaled down to weigh together at most
    AUTHOR_WEIGHT_CAP of the training set's weight."""
    by_text: dict[str, Example] = {}
    for example in install:
        key = NOT_WORD.sub(" ", example.text.casefold()).strip()
        kept = by_text.get(key)
        if kept is None or (example.source == "correction" and kept.source != "correction"):
            by_text[key] = example
    kept = list(by_text.values())
    per_author: dict[str, float] = defaultdict(float)
    for example in kept:
        if example.author:
            per_author[example.author] += example.weight
    total = base_weight + sum(e.weight for e in kept)
    cap = AUTHOR_WEIGHT_CAP * total
    return [replace(e, weight=e.weight * cap / per_author[e.author])
            if e.author and per_author[e.author] > cap else e for e in kept]


_last_training: dict[str, np.ndarray] = {}  # text → vector, of the last training in this process


def _embedded(texts: list[str]) -> np.ndarray:
    """The texts' vectors with the default encoder, reusing those of the last training: a
    retraining after a correction embeds only what is new (the labelled set and dev sets,
    most of the work, are the same). Holds one training set's vectors."""
    unique = list(dict.fromkeys(texts))
    known = {text: _last_training[text] for text in unique if text in _last_training}
    missing = [text for text in unique if text not in known]
    if missing:
        known |= dict(zip(missing, embeddings.encoder().encode(missing), strict=True))
    _last_training.clear()
    _last_training.update(known)
    return np.vstack([known[text] for text in texts]) if texts else np.zeros((0, 1), dtype=np.float32)


def train_classifier(*, limit: int = 200_000, force: bool = False) -> TrainingOutcome:
    """Train a new version on every source, calibrate it on a held-out split, judge it on the
    evaluation slice beside the active version, store it, and activate it only if it is not
    worse there (or `force`). Without ../shared (no slice), the calibration split judges.
    One training at a time (TrainingRunning otherwise): two would judge against the same
    active version and the later would replace the earlier unjudged."""
    try:
        with leases.held(name=TRAINING_LEASE, ttl=TRAINING_LEASE_TTL):
            return _train(limit=limit, force=force)
    except leases.LeaseTaken as taken:
        raise TrainingRunning(f"{taken}; try again when it ends") from taken


def _train(*, limit: int, force: bool) -> TrainingOutcome:
    base = base_examples()
    install = curated(selectors.training_examples(limit=limit), base_weight=sum(e.weight for e in base))
    examples = [*base, *install]
    train, calibration = classifier.split(examples)
    if len(train) < MIN_TRAINING_EXAMPLES or not calibration:
        raise ValueError(f"{len(examples)} labelled examples to learn from: at least "
                         f"{MIN_TRAINING_EXAMPLES} are needed, with some held out")
    judged_on = training_data.labelled_examples(evaluation=True) or calibration
    held_corrections = [e for e in calibration if e.source == "correction"]
    every = _embedded([e.text for e in [*train, *calibration, *judged_on]])
    vectors = {"train": every[:len(train)], "calibration": every[len(train):len(train) + len(calibration)],
               "judged": every[len(train) + len(calibration):]}
    model = classifier.fit(train, vectors=vectors["train"])
    evaluation = classifier.evaluate(model, calibration, calibrate=True, vectors=vectors["calibration"])
    judged = classifier.evaluate(model, judged_on, vectors=vectors["judged"])
    current = classifier.active()
    same_encoder = current is not None and current.encoder == model.encoder
    previous = (classifier.evaluate(current, judged_on, vectors=vectors["judged"] if same_encoder else None)
                if current else None)
    corrections_new = corrections_previous = None
    if held_corrections:
        rows = [n for n, e in enumerate(calibration) if e.source == "correction"]
        corrections_new = classifier.evaluate(model, held_corrections, vectors=vectors["calibration"][rows])
        if current:
            corrections_previous = classifier.evaluate(
                current, held_corrections, vectors=vectors["calibration"][rows] if same_encoder else None)
    not_worse = previous is None or _not_worse(judged, previous)
    sources = dict(Counter(e.source for e in examples))
    stored = classifier.save(model, evaluation, trained_on=len(train), corrections=sources.get("correction", 0),
                             activate=not_worse or force, judged=judged,
                             slice_name=training_data.EVALUATION_SLICE[0] if judged_on is not calibration else None)
    if not_worse or force:
        message = f"version {stored.version} is now active"
    else:
        message = (f"version {stored.version} is stored but NOT active: the active version {current.version} scores "
                   f"better on the evaluation slice ({previous.score:.3f} against {judged.score:.3f}); "
                   "--force to activate it anyway")
    return TrainingOutcome(evaluation=evaluation, judged=judged, previous=previous, corrections_new=corrections_new,
                           corrections_previous=corrections_previous, version=stored.version,
                           activated=not_worse or force, trained_on=len(train), sources=sources, message=message)


def _not_worse(new: Evaluation, active: Evaluation) -> bool:
    """No worse on the slice: the mean agreement at least the active version's (to within
    float noise), and no field more than FIELD_TOLERANCE below it (a gain on one field never
    pays for a field lost)."""
    return new.score >= active.score - SCORE_TOLERANCE and all(new.agreement[f] >= active.agreement[f] - FIELD_TOLERANCE
                                             for f in active.agreement)


def activate_version(*, version: int) -> int:
    """Make `version` the active one (the starter's number: the shipped heads); every worker
    follows within HEADS_RELOAD_S. Refuses (VersionCorrupt) a version whose arrays no longer
    match their hash. Returns the version now active."""
    starter = classifier.starter_version()
    if version != starter and not ClassifierVersion.objects(version=version).count():
        known = ", ".join(str(v.version) for v in ClassifierVersion.objects.only("version").order_by("version"))
        raise VersionUnknown(f"no version {version}; stored: {known or 'none'} ({starter}: the shipped starter heads)")
    classifier.make_active(version=None if version == starter else version)
    return version
