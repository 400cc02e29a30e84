"""The fast tier's candidates side by side on the labelled tweets, and the starter heads
that ship with the project.

    .venv/bin/python -m bench.heads                      # every candidate (e5 embeddings: ~10 min, cached)
    .venv/bin/python -m bench.heads --candidates use-m   # one
    .venv/bin/python -m bench.heads --write              # and rebuild analysis/heads/starter.npz

Data (analysis/training_data.py): ../shared/data/labelled_tweets.csv outside its evaluation
slice, the team's examples, the dev sets' sentiment labels, and (one candidate) the 1.5 B
teacher's labels. For each candidate, per field and language:
- accuracy and macro-F1 on the labelled tweets by 5-fold cross-validation (each fold scored
  by heads trained on the other folds and every other source; folds by tweet id);
- sentiment macro-F1 on the dev sets by 5-fold cross-validation;
- the share of tweets sure on every field at its 90 %-precision threshold (thresholds fitted
  on the out-of-fold answers of the other folds' tweets, so no tweet sets its own);
- labels/s on one core, encoding included.
Candidates: logistic heads on USE-m, on e5-small, on both concatenated, USE-m with the
teacher's labels added, and the cascade where e5 sees only the tweets USE-m is unsure of.
(Word + character n-grams and a fine-tuned USE-m are measured apart: docs/benchmarks.md.)
`--write` fits the default heads on every tweet outside the evaluation slice but a
calibration split, calibrates them there, scores them on the evaluation slice, and writes
analysis/heads/starter.npz with analysis/heads/starter.json (sources, licences, figures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # benchmarks run on the embedded default
django.setup()

import numpy as np  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from analysis import classifier, embeddings, training, training_data  # noqa: E402
from analysis.classifier import FIELDS, Example  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench-heads"
FOLDS = 5
CANDIDATES = ("use-m", "use-m+teacher", "e5-small", "use-m+e5-small", "cascade")
LICENCES = {
    "labelled": "labelled_tweets.csv: tweets of the Customer Support on Twitter corpus (CC BY-NC-SA 4.0) and of a "
                "public French Free feed, labelled by the Dallosh team following LABELLING.md",
    "team": "analysis/heads/team_examples.csv: requests written by the Dallosh team (project licence)",
    "dev_sentiment_en": "Twitter US Airline Sentiment, CC BY-NC-SA 4.0",
    "dev_sentiment_fr": "XLM-T French sentiment split, terms of the original corpus",
}


def vectors_of(encoder: str, texts: list[str]) -> tuple[np.ndarray, float]:
    """The texts' embeddings (cached under var/ by content) and texts/s on one thread."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{encoder}-{key}.npy"
    rate_path = path.with_suffix(".rate")
    if path.is_file():
        return np.load(path), float(rate_path.read_text())
    started = time.perf_counter()
    vectors = embeddings.encoder(encoder).encode(texts)
    rate = len(texts) / (time.perf_counter() - started)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    rate_path.write_text(f"{rate:.1f}")
    return vectors, rate


def fold_of(example: Example) -> int:
    return int(hashlib.sha256(example.id.encode()).hexdigest()[:8], 16) % FOLDS


def features(name: str, examples: list[Example]) -> tuple[np.ndarray, float]:
    """A candidate's features for the examples and its encoding rate (texts/s, one core)."""
    texts = [e.text for e in examples]
    if name == "use-m+e5-small":
        a, rate_a = vectors_of("use-m", texts)
        b, rate_b = vectors_of("e5-small", texts)
        return np.hstack([a, b]), 1 / (1 / rate_a + 1 / rate_b)
    return vectors_of(name, texts)


def cross_validate(vectors: np.ndarray, examples: list[Example]) -> list[classifier.Prediction | None]:
    """Out-of-fold predictions for every labelled and dev example (None for the others),
    thresholds fitted on the other folds' out-of-fold answers."""
    folds = np.array([fold_of(e) for e in examples])
    scored = np.array([e.source in ("labelled", "dev") for e in examples])
    raw: dict[int, dict[str, np.ndarray]] = {}
    models = {}
    for fold in range(FOLDS):
        train = np.flatnonzero(folds != fold)
        test = np.flatnonzero((folds == fold) & scored)
        model = classifier.fit([examples[i] for i in train], vectors=vectors[train])
        models[fold] = model
        probabilities = model.probabilities(vectors[test])
        for n, i in enumerate(test):
            raw[i] = {f: probabilities[f][n] for f in FIELDS}
    predictions: list[classifier.Prediction | None] = [None] * len(examples)
    for fold in range(FOLDS):
        model = models[fold]
        others = [i for i in raw if folds[i] != fold]
        thresholds = {}
        for f in FIELDS:
            rows = [i for i in others if f in examples[i].labels]
            guessed = [str(model.heads[f].classes[raw[i][f].argmax()]) for i in rows]
            thresholds[f] = classifier.threshold_for([float(raw[i][f].max()) for i in rows],
                                                     [g == examples[i].labels[f] for g, i in zip(guessed, rows,
                                                                                                 strict=True)])
        for i in (i for i in raw if folds[i] == fold):
            labels = {f: str(model.heads[f].classes[raw[i][f].argmax()]) for f in FIELDS}
            predictions[i] = classifier.Prediction(labels, {f: float(raw[i][f].max()) for f in FIELDS}, thresholds)
    return predictions


def figures(predictions: list, examples: list[Example]) -> dict:
    found: dict = {}
    for language in ("en", "fr"):
        labelled = [i for i, e in enumerate(examples) if e.source == "labelled" and e.language == language]
        row = {}
        for f in FIELDS:
            gold = [examples[i].labels[f] for i in labelled]
            guessed = [predictions[i].labels[f] for i in labelled]
            row[f] = {"accuracy": float(np.mean([g == p for g, p in zip(gold, guessed, strict=True)])),
                      "macro_f1": float(f1_score(gold, guessed, average="macro", labels=classifier.classes_of(f)))}
        row["sure"] = float(np.mean([predictions[i].confident for i in labelled]))
        sure = [i for i in labelled if predictions[i].confident]
        row["sure_right"] = float(np.mean([all(predictions[i].labels[f] == examples[i].labels[f] for f in FIELDS)
                                           for i in sure])) if sure else 0.0
        dev = [i for i, e in enumerate(examples) if e.source == "dev" and e.language == language]
        row["dev_sentiment_f1"] = float(f1_score([examples[i].labels["sentiment"] for i in dev],
                                                 [predictions[i].labels["sentiment"] for i in dev], average="macro"))
        row["tweets"] = len(labelled)
        found[language] = row
    return found


def cascade(first: list, second: list, examples: list[Example]) -> tuple[dict, float]:
    """USE-m's answer where it is sure of a field, e5's (on the concatenated heads) elsewhere."""
    mixed = []
    for a, b in zip(first, second, strict=True):
        if a is None:
            mixed.append(None)
            continue
        labels = {f: (a if a.confident_in(f) else b).labels[f] for f in FIELDS}
        confidence = {f: (a if a.confident_in(f) else b).confidence[f] for f in FIELDS}
        sure = {f: 0.0 if a.confident_in(f) or b.confident_in(f) else classifier.NEVER for f in FIELDS}
        mixed.append(classifier.Prediction(labels, confidence, sure))
    handed_on = float(np.mean([not p.confident for p in first if p is not None]))
    return figures(mixed, examples), handed_on


def labels_per_second(model: classifier.Classifier, texts: list[str]) -> float:
    """Labels/s on one core, encoding included (the encoder runs on one thread)."""
    sample = texts[:2000]
    model.predict(sample[:50])  # load and warm the encoder
    started = time.perf_counter()
    model.predict(sample)
    return len(sample) / (time.perf_counter() - started)


def print_table(name: str, found: dict, rate: float) -> None:
    for language in ("en", "fr"):
        row = found[language]
        cells = "  ".join(f"{f[:5]} {row[f]['accuracy']:.3f}/{row[f]['macro_f1']:.3f}" for f in FIELDS)
        print(f"{name:<16}{language}  {cells}  dev-F1 {row['dev_sentiment_f1']:.3f}  sure {row['sure']:.1%} "
              f"({row['sure_right']:.1%} right)  {rate:.0f}/s")


def write_starter(examples: list[Example], cv: dict) -> None:
    """Fit the default heads on everything outside the evaluation slice but a calibration
    split, calibrate there, score on the slice, and write the starter and its facts."""
    train, calibration = classifier.split(examples)
    vectors = embeddings.encoder().encode
    model = classifier.fit(train, vectors=vectors([e.text for e in train]))
    evaluation = classifier.evaluate(model, calibration, calibrate=True, vectors=vectors([e.text for e in calibration]))
    judged_on = training_data.labelled_examples(evaluation=True)
    judged = classifier.evaluate(model, judged_on)
    per_language = {}
    for language in ("en", "fr"):
        part = [e for e in judged_on if e.language == language]
        scored = classifier.evaluate(model, part)
        per_language[language] = {"accuracy": scored.agreement, "macro_f1": scored.macro_f1,
                                  "sure": scored.accepted_share, "sure_right": scored.accepted_precision,
                                  "tweets": len(part)}
    shipped = classifier.starter()
    model.version = (shipped.version + 1) if shipped else 1
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    model.provenance |= {"command": "python -m bench.heads --write", "commit": commit}
    classifier.STARTER_FILE.write_bytes(model.to_bytes())
    summary = {
        "version": model.version, "encoder": model.encoder, "built_by": "python -m bench.heads --write",
        "commit": commit, "sources": model.provenance["sources"], "weights": model.provenance["weights"],
        "held_out": evaluation.held_out, "agreement": evaluation.agreement, "macro_f1": evaluation.macro_f1,
        "thresholds": evaluation.thresholds, "sure_share": evaluation.accepted_share,
        "evaluation_slice": {"name": training_data.EVALUATION_SLICE[0], "tweets": len(judged_on),
                             "score": judged.score, "per_language": per_language},
        "cross_validation": cv, "licences": LICENCES}
    classifier.STARTER_FILE.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    size = classifier.STARTER_FILE.stat().st_size
    print(f"wrote {classifier.STARTER_FILE.relative_to(ROOT)} ({size / 1024:.0f} KiB) and its .json; "
          f"on the evaluation slice ({len(judged_on)} tweets):")
    for language, row in per_language.items():
        print(f"  {language}: " + "  ".join(f"{f} {row['accuracy'][f]:.3f}/{row['macro_f1'][f]:.3f}" for f in FIELDS)
              + f"  sure {row['sure']:.1%} ({row['sure_right']:.1%} right)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rebuild the starter heads of the default encoder")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    args = parser.parse_args()
    examples = training.base_examples()
    if not any(e.source == "labelled" for e in examples):
        raise SystemExit("no labelled tweets: ../shared/data/labelled_tweets.csv is needed beside the project")
    teacher = training_data.teacher_examples()
    labelled_ids = {e.id for e in examples}
    teacher = [e for e in teacher if e.id not in labelled_ids and not training_data.in_evaluation_slice(e.id)]
    counts = ", ".join(f"{s} {sum(e.source == s for e in examples):,}" for s in ("labelled", "team", "dev"))
    print(f"examples: {len(examples):,} ({counts}); "
          f"teacher tweets outside the labelled set: {len(teacher):,}; {FOLDS}-fold CV, folds by tweet id")
    print(f"{'candidate':<16}    field accuracy/macro-F1 per language (labelled tweets, out of fold)")
    wanted = args.candidates.split(",")
    results: dict[str, dict] = {}
    predictions: dict[str, list] = {}
    for name in wanted:
        if name == "cascade":
            continue
        pool = [*examples, *teacher] if name == "use-m+teacher" else examples
        vectors, rate = features(name.replace("+teacher", ""), pool)
        found = cross_validate(vectors, pool)
        predictions[name] = found[:len(examples)]
        speed = rate if "e5" in name else labels_per_second(classifier.fit(examples[:400], vectors=vectors[:400]),
                                                            [e.text for e in examples])
        results[name] = figures(found, pool) | {"labels_per_s": speed}
        print_table(name, results[name], speed)
    if "cascade" in wanted and {"use-m", "use-m+e5-small"} <= set(predictions):
        found, handed_on = cascade(predictions["use-m"], predictions["use-m+e5-small"], examples)
        rate = 1 / (1 / results["use-m"]["labels_per_s"] + handed_on / results["use-m+e5-small"]["labels_per_s"])
        results["cascade"] = found | {"labels_per_s": rate, "handed_on": handed_on}
        print_table(f"cascade ({handed_on:.0%})", found, rate)
    if args.write:
        write_starter(examples, results.get(embeddings.DEFAULT_ENCODER, {}))


if __name__ == "__main__":
    main()
