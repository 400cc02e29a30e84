"""The fast tier's encoders side by side, and the starter heads that ship with the project.

    .venv/bin/python -m bench.heads                 # measure use-m, e5-small, n-grams, cascade
    .venv/bin/python -m bench.heads --write         # and rebuild analysis/heads/starter.npz

Data: the dev sets' human sentiment labels and the teacher's labels on real shared tweets
(analysis/training_data.py). Each candidate is scored
- on sentiment macro-F1 per language of the dev sets by 5-fold cross-validation (each fold
  scored by heads that never saw it, trained on the other folds and the teacher's tweets);
- on agreement with the teacher per field and language on the held-out split of the
  teacher's tweets (classifier.held_out), with the share of tweets sure on every field;
- on speed: tweets embedded per second on one thread.
`--write` fits the default encoder's heads on the training split of every example,
calibrates them on the held-out split and writes analysis/heads/starter.npz with its
provenance and figures in analysis/heads/starter.json.
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

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dallosh.settings")

os.environ.setdefault("DJANGO_DEBUG", "1")  # benchmarks run on the embedded default
django.setup()

import numpy as np  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from analysis import classifier, embeddings, training_data  # noqa: E402
from analysis.classifier import FIELDS, Example  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench-heads"
CANDIDATES = ("use-m", "e5-small")


def vectors_of(encoder: str, texts: list[str]) -> tuple[np.ndarray, float]:
    """The texts' embeddings (cached under var/ by content) and tweets/s when computed."""
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


def dev_cross_validation(examples: list[Example], vectors: np.ndarray, *, folds: int = 5) -> dict[str, float]:
    """Sentiment macro-F1 per dev language, each fold scored by heads trained without it."""
    dev = [i for i, e in enumerate(examples) if e.source == "dev"]
    others = [i for i, e in enumerate(examples) if e.source != "dev"]
    strata = [f"{training_data.language_of(examples[i])}:{examples[i].labels['sentiment']}" for i in dev]
    predicted: dict[int, str] = {}
    for train_part, test_part in StratifiedKFold(folds, shuffle=True, random_state=0).split(dev, strata):
        train = [dev[i] for i in train_part] + others
        model = classifier.fit([examples[i] for i in train], vectors=vectors[train])
        test = [dev[i] for i in test_part]
        for i, prediction in zip(test, model.predict_vectors(vectors[test]), strict=True):
            predicted[i] = prediction.labels["sentiment"]
    scores = {}
    for language in ("en", "fr"):
        rows = [i for i in dev if training_data.language_of(examples[i]) == language]
        if rows:
            scores[language] = f1_score([examples[i].labels["sentiment"] for i in rows],
                                        [predicted[i] for i in rows], average="macro")
    return scores


def teacher_agreement(model: classifier.Classifier, test: list[Example], vectors: np.ndarray) -> dict:
    """Per language and field, agreement with the teacher on its held-out tweets."""
    found = {}
    predictions = model.predict_vectors(vectors)
    for language in ("en", "fr"):
        rows = [i for i, e in enumerate(test) if e.source == "teacher" and training_data.language_of(e) == language]
        if not rows:
            continue
        found[language] = {f: float(np.mean([predictions[i].labels[f] == test[i].labels[f] for i in rows]))
                           for f in FIELDS}
        found[language]["sure"] = float(np.mean([predictions[i].confident for i in rows]))
        found[language]["tweets"] = len(rows)
    return found


def measure(encoder: str, examples: list[Example]) -> dict:
    vectors, rate = vectors_of(encoder, [e.text for e in examples])
    train_rows = [i for i, e in enumerate(examples) if not classifier.held_out(e.id)]
    test_rows = [i for i, e in enumerate(examples) if classifier.held_out(e.id)]
    model = classifier.fit([examples[i] for i in train_rows], encoder=encoder, vectors=vectors[train_rows])
    test = [examples[i] for i in test_rows]
    evaluation = classifier.evaluate(model, test, calibrate=True, vectors=vectors[test_rows])
    return {"encoder": encoder, "tweets_per_s": rate, "dev_macro_f1": dev_cross_validation(examples, vectors),
            "teacher": teacher_agreement(model, test, vectors[test_rows]), "evaluation": evaluation,
            "model": model, "vectors": vectors}


def cascade(first: dict, second: dict, examples: list[Example]) -> dict:
    """The first encoder's heads where they are sure of a field, the second's elsewhere."""
    test_rows = [i for i, e in enumerate(examples) if classifier.held_out(e.id)]
    a = first["model"].predict_vectors(first["vectors"][test_rows])
    b = second["model"].predict_vectors(second["vectors"][test_rows])
    found, handed = {}, np.mean([not p.confident for p in a])
    for language in ("en", "fr"):
        rows = [n for n, i in enumerate(test_rows)
                if examples[i].source == "teacher" and training_data.language_of(examples[i]) == language]
        if rows:
            found[language] = {f: float(np.mean([(a[n] if a[n].confident_in(f) else b[n]).labels[f]
                                                 == examples[test_rows[n]].labels[f] for n in rows])) for f in FIELDS}
    return {"teacher": found, "handed_on": float(handed)}


def ngram_baseline(examples: list[Example]) -> dict[str, float]:
    """The n-gram features the fast tier replaced (word and character n-grams, logistic
    regression), on the same dev cross-validation."""
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    dev = [e for e in examples if e.source == "dev"]
    scores = {}
    for language in ("en", "fr"):
        rows = [e for e in dev if training_data.language_of(e) == language]
        texts, gold = [e.text for e in rows], np.array([e.labels["sentiment"] for e in rows])
        predicted = np.empty(len(rows), dtype=object)
        for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, gold):
            features = make_pipeline(make_union(
                HashingVectorizer(analyzer="word", ngram_range=(1, 2), n_features=2**17, alternate_sign=False),
                HashingVectorizer(analyzer="char_wb", ngram_range=(2, 5), n_features=2**17, alternate_sign=False)),
                TfidfTransformer(sublinear_tf=True))
            matrix = features.fit_transform([texts[i] for i in train])
            model = LogisticRegression(C=8.0, max_iter=1000).fit(matrix, gold[train])
            predicted[test] = model.predict(features.transform([texts[i] for i in test]))
        scores[language] = f1_score(gold, predicted, average="macro")
    return scores


def print_results(results: list[dict], baseline: dict, mixed: dict | None) -> None:
    print(f"{'encoder':<10}{'tweets/s':>10}{'dev F1 en':>11}{'dev F1 fr':>11}   teacher agreement (held out) "
          f"{' '.join(f[:5] for f in FIELDS)}  sure")
    for result in results:
        for language, row in result["teacher"].items():
            dev = result["dev_macro_f1"]
            print(f"{result['encoder']:<10}{result['tweets_per_s']:>10.0f}{dev.get('en', 0):>11.3f}"
                  f"{dev.get('fr', 0):>11.3f}   {language} ({row['tweets']} tweets){'':<13}"
                  + " ".join(f"{row[f]:.3f}" for f in FIELDS) + f"  {row['sure']:.1%}")
    print(f"{'n-grams':<10}{'':>10}{baseline.get('en', 0):>11.3f}{baseline.get('fr', 0):>11.3f}")
    if mixed:
        for language, row in mixed["teacher"].items():
            print(f"cascade use-m→e5 ({mixed['handed_on']:.0%} handed on)  {language}: "
                  + " ".join(f"{f} {row[f]:.3f}" for f in FIELDS))


def write_starter(result: dict, examples: list[Example]) -> None:
    model, evaluation = result["model"], result["evaluation"]
    model.version = 1
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    model.provenance |= {"command": "python -m bench.heads --write", "commit": commit}
    classifier.STARTER_FILE.write_bytes(model.to_bytes())
    summary = {
        "version": model.version, "encoder": model.encoder, "built_by": "python -m bench.heads --write",
        "commit": commit, "sources": model.provenance["sources"], "weights": model.provenance["weights"],
        "held_out": evaluation.held_out, "agreement": evaluation.agreement, "macro_f1": evaluation.macro_f1,
        "thresholds": evaluation.thresholds, "sure_share": evaluation.accepted_share,
        "dev_sentiment_macro_f1_cv": result["dev_macro_f1"], "teacher_agreement_held_out": result["teacher"],
        "licences": {"dev_sentiment_en": "Twitter US Airline Sentiment, CC BY-NC-SA 4.0",
                     "dev_sentiment_fr": "XLM-T French sentiment split, terms of the original corpus",
                     "teacher": "labels by the project's LLM chain (Qwen2.5-Coder-1.5B, Apache-2.0) on tweets "
                                "of the Customer Support on Twitter corpus (CC BY-NC-SA 4.0) and a public "
                                "French Free feed"}}
    classifier.STARTER_FILE.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    size = classifier.STARTER_FILE.stat().st_size
    print(f"wrote {classifier.STARTER_FILE.relative_to(ROOT)} ({size / 1024:.0f} KiB) and its .json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rebuild the starter heads of the default encoder")
    parser.add_argument("--encoders", default=",".join(CANDIDATES))
    args = parser.parse_args()
    examples = [*training_data.dev_examples(), *training_data.teacher_examples()]
    if not examples:
        raise SystemExit("no labelled examples: ../shared/data is needed beside the project")
    print(f"examples: {len(examples):,} (dev {sum(e.source == 'dev' for e in examples):,}, "
          f"teacher {sum(e.source == 'teacher' for e in examples):,})")
    results = [measure(name, examples) for name in args.encoders.split(",")]
    by_name = {r["encoder"]: r for r in results}
    mixed = cascade(by_name["use-m"], by_name["e5-small"], examples) if len(by_name) == 2 else None
    print_results(results, ngram_baseline(examples), mixed)
    for result in results:
        print(f"\n{result['encoder']} heads, held-out split of every source:")
        print("\n".join(classifier.report_lines(result["evaluation"])))
    if args.write:
        write_starter(by_name[embeddings.DEFAULT_ENCODER], examples)


if __name__ == "__main__":
    main()
