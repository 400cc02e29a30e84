"""What the fast tier's heads learn from, beside the tickets of this install.

- `labelled`: ../shared/data/labelled_tweets.csv, 5,202 real customer tweets of the shared
  files labelled on all five fields by the team's annotation process, following
  ../shared/LABELLING.md (same licences as the source tweets: Customer Support on Twitter,
  CC BY-NC-SA 4.0; the public French Free feed). A fixed, versioned slice of it
  (EVALUATION_SLICE) is never trained on: new versions are judged there, and the tiers'
  scorecards are measured on a fixed sample of it.
- `team`: analysis/heads/team_examples.csv, requests written by the Dallosh team in both
  languages (bills, refunds, plans, roaming, usage, cancellation; e-mail-like wording), where
  the labelled tweets are thin; reported as written by the team.
- `dev`: the human-labelled sentiment sets of ../shared/data (English airline tweets,
  "Twitter US Airline Sentiment", CC BY-NC-SA 4.0; French tweets of the XLM-T sentiment
  benchmark, terms of the original corpus): sentiment only.
- `teacher`: real customer tweets of ../shared/data labelled by the project's own LLM chain
  (bench/teacher.py); the labels ship in analysis/heads/teacher_labels.jsonl (tweet ids and
  labels, never texts), the texts are read from ../shared/data.

Where ../shared/data is absent (a user's machine), both are empty and training uses the
install's own refined and corrected tickets; the shipped starter heads still route.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

import pandas as pd
from django.conf import settings

from analysis.classifier import SOURCE_WEIGHTS, Example
from dallosh import vocabulary
from ingestion import cleaning

ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """The shared data files beside the project (settings.DALLOSH_SITE.shared_data)."""
    return settings.DALLOSH_SITE.shared_data


TEACHER_LABELS = Path(__file__).with_name("heads") / "teacher_labels.jsonl"
BRAND_ACCOUNTS_FR = {"free", "freebox", "free_1337", "freemobile"}
SHUFFLE_SEED = 15
LABELLED_FILE = "labelled_tweets.csv"
TEAM_EXAMPLES = Path(__file__).with_name("heads") / "team_examples.csv"
# The slice of the labelled set no training ever sees: (name, share). Changing the share or
# the hashing makes a new slice, so the name changes with it; figures name the slice they
# were measured on.
EVALUATION_SLICE = ("labelled-v1", 0.15)
SCORECARD_SAMPLE = 300  # tweets of the slice a tier's scorecard is measured on (half EN, half FR)


def dev_examples(shared: Path | None = None) -> list[Example]:
    """The human sentiment labels, cleaned as the pipeline cleans tweets."""
    shared = shared or shared_data()
    examples = []
    for language in ("en", "fr"):
        path = shared / f"dev_sentiment_{language}.csv"
        if not path.is_file():
            continue
        frame = pd.read_csv(path, dtype=str).fillna("")
        texts = cleaning.clean_for_model(frame["text"])
        examples += [Example(id=f"dev-{language}:{n}", text=text, labels={"sentiment": label}, language=language,
                             weight=SOURCE_WEIGHTS["dev"], source="dev")
                     for n, (text, label) in enumerate(zip(texts, frame["sentiment"], strict=True)) if text]
    return examples


def customer_tweets(shared: Path | None = None) -> list[dict]:
    """Distinct customer tweets of the shared data (twcs customers; the French feed without
    the brand's accounts and retweets), cleaned as the pipeline cleans them, shuffled with a
    fixed seed and alternating English and French, so any prefix is a balanced sample."""
    shared = shared or shared_data()
    by_language: dict[str, list[dict]] = {"en": [], "fr": []}
    for name, language, keep in (("twcs_sample.csv", "en", lambda r: r["inbound"] == "True"),
                                 ("free_tweets_fr.csv", "fr", lambda r: r["author"].lower() not in BRAND_ACCOUNTS_FR)):
        path = shared / name
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as stream:
            rows = [r for r in csv.DictReader(stream) if keep(r) and not cleaning.RETWEET.match(r["text"])]
        cleaned = cleaning.clean_for_model(pd.Series([r["text"] for r in rows]), stray_newline_n=language == "fr")
        seen = set()
        for row, text, key in zip(rows, cleaned, cleaning.near_duplicate_key(cleaned), strict=True):
            if len(key) >= 12 and key not in seen:
                seen.add(key)
                by_language[language].append({"source": "twcs" if language == "en" else "free_fr",
                                              "tweet_id": row["tweet_id"], "language": language, "text": text})
    rng = random.Random(SHUFFLE_SEED)
    for tweets in by_language.values():
        rng.shuffle(tweets)
    mixed = [tweet for pair in zip(by_language["en"], by_language["fr"], strict=False) for tweet in pair]
    longer = max(by_language.values(), key=len)
    return mixed + longer[len(mixed) // 2:]


def teacher_examples(shared: Path | None = None, labels_file: Path = TEACHER_LABELS) -> list[Example]:
    """The LLM chain's labels joined to the shared tweets' texts."""
    if not labels_file.is_file():
        return []
    texts = {(t["source"], t["tweet_id"]): t for t in customer_tweets(shared)}
    examples = []
    for line in labels_file.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        tweet = texts.get((record["source"], record["tweet_id"]))
        if tweet:
            examples.append(Example(id=f"{record['source']}:{record['tweet_id']}", text=tweet["text"],
                                    labels=record["labels"], weight=SOURCE_WEIGHTS["teacher"], source="teacher"))
    return examples


def language_of(example: Example) -> str:
    """en or fr: the example's own, else from its id (dev-en:…, twcs:… are English;
    dev-fr:…, free_fr:… French)."""
    if example.language:
        return example.language
    return "fr" if example.id.startswith(("dev-fr:", "free_fr:")) else "en"


def _labelled_frame(shared: Path) -> pd.DataFrame | None:
    path = shared / LABELLED_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["clean"] = ""
    for language in ("en", "fr"):
        rows = frame["language"] == language
        frame.loc[rows, "clean"] = cleaning.clean_for_model(frame.loc[rows, "text"],
                                                            stray_newline_n=language == "fr").to_numpy()
    return frame


def in_evaluation_slice(example_id: str) -> bool:
    """A stable membership: the same tweet is always in the slice or out of it."""
    name, share = EVALUATION_SLICE
    digest = hashlib.sha256(f"{name}:{example_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF < share


def labelled_examples(shared: Path | None = None, *, evaluation: bool = False) -> list[Example]:
    """The labelled tweets outside the evaluation slice (inside it with `evaluation`),
    cleaned as the pipeline cleans tweets, each with its five labels and its language."""
    shared = shared or shared_data()
    frame = _labelled_frame(shared)
    if frame is None:
        return []
    examples = []
    for row in frame.itertuples(index=False):
        example_id = f"{row.source}:{row.tweet_id}"
        if not row.clean or in_evaluation_slice(example_id) != evaluation:
            continue
        labels = {f: str(getattr(row, f)).strip().lower() for f in vocabulary.LABEL_FIELDS}
        examples.append(Example(id=example_id, text=row.clean, labels=labels, weight=SOURCE_WEIGHTS["labelled"],
                                source="labelled", language=row.language))
    return examples


def team_examples(path: Path = TEAM_EXAMPLES) -> list[Example]:
    """The team's own labelled requests (shipped with the project, so they need no ../shared)."""
    if not path.is_file():
        return []
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    texts = cleaning.clean_for_model(frame["text"])
    return [Example(id=f"team:{n}", text=text, source="team", weight=SOURCE_WEIGHTS["team"],
                    language=row.language,
                    labels={f: str(getattr(row, f)).strip().lower() for f in vocabulary.LABEL_FIELDS})
            for n, (row, text) in enumerate(zip(frame.itertuples(index=False), texts, strict=True)) if text]


def scorecard_sample(shared: Path | None = None, *, size: int = SCORECARD_SAMPLE) -> list[Example]:
    """The fixed sample every tier's scorecard is measured on: the first tweets of the
    evaluation slice in a stable order, half English, half French."""
    ordered = sorted(labelled_examples(shared, evaluation=True),
                     key=lambda e: hashlib.sha256(e.id.encode()).hexdigest())
    per_language = {"en": [e for e in ordered if e.language == "en"], "fr": [e for e in ordered if e.language == "fr"]}
    return per_language["en"][:size // 2] + per_language["fr"][:size - size // 2]
