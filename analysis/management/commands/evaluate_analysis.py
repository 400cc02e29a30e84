"""Run the real analysis on a labelled CSV and print how often it agrees with the labels.

    python manage.py evaluate_analysis ../shared/data/dev_sentiment_en.csv \\
        --text-column text --label-column sentiment --field sentiment --limit 200 --balanced
    python manage.py evaluate_analysis ../shared/data/support_emails_sample.csv --emails --field team \
        --label-column queue --map "Billing and Payments=billing" --map "Technical Support=tech" ...
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis import evaluation, selectors
from analysis.chain import default_chain
from analysis.prompts import Item
from dallosh import vocabulary
from ingestion.cleaning import clean_for_model
from ingestion.mail import new_words
from ingestion.selectors import customer_words
from tickets import selectors as ticket_selectors

CHUNK = 20  # tweets handed to the chain at a time (each tier batches them as it is configured)


class Command(BaseCommand):
    help = "Measure the analysis against a labelled CSV: accuracy, macro-F1, confusion, throughput, providers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, nargs="?", help="a labelled CSV (or --from-corrections)")
        parser.add_argument("--from-corrections", action="store_true",
                            help="evaluate on the tickets agents corrected: their texts, the agents' labels")
        parser.add_argument("--days", type=int, default=90, help="with --from-corrections: corrections of the last "
                                                                  "N days")
        parser.add_argument("--text-column", help="default: text (body with --emails)")
        parser.add_argument("--label-column", help="default: the field's name")
        parser.add_argument("--field", default="sentiment", choices=sorted(vocabulary.VOCABULARY))
        parser.add_argument("--limit", type=int, help="evaluate at most this many rows")
        parser.add_argument("--balanced", action="store_true",
                            help="with --limit, take the same number of rows of each label (first ones in file order)")
        parser.add_argument("--provider", help="evaluate one tier alone (openai, ollama or local)")
        parser.add_argument("--emails", action="store_true",
                            help="the CSV holds e-mails: the model reads the subject and the body's new words, "
                                 "as the pipeline gives them (the body in --text-column, default body)")
        parser.add_argument("--subject-column", default="subject", help="with --emails")
        parser.add_argument("--map", action="append", default=[], metavar="VALUE=LABEL",
                            help="read a label of the file as one of the field's (e.g. 'Billing and Payments=billing');"
                                 " with any --map, rows whose label is mapped to nothing are left out")
        parser.add_argument("--show-errors", type=int, default=0, metavar="N",
                            help="print N tweets the analysis got wrong, with both labels (for prompt work)")

    def handle(self, *args, **options) -> None:
        field = options["field"]
        if options["from_corrections"]:
            frame = self._corrected_rows(field, days=options["days"])
        elif options["path"] is None:
            raise CommandError("give a labelled CSV, or --from-corrections")
        else:
            frame = _labelled_rows(options["path"],
                                   text_column=options["text_column"] or ("body" if options["emails"] else "text"),
                                   label_column=options["label_column"] or field, field=field,
                                   subject_column=options["subject_column"] if options["emails"] else None,
                                   mapping=_mapping(options["map"]))
            self.stdout.write(f"{len(frame)} labelled rows" + (" (rows whose label maps to nothing left out)"
                                                              if options["map"] else ""))
        frame = _limited(frame, limit=options["limit"], balanced=options["balanced"])
        try:
            chain = default_chain(only=options["provider"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        noun = "e-mails" if options["emails"] else "tweets"  # what the report counts
        predicted, providers, seconds = self._analyse(chain, frame, field, noun=noun)
        scores = evaluation.score(list(frame["label"]), predicted, labels=vocabulary.VOCABULARY[field])
        self._report(scores, providers, seconds, field, noun=noun)
        wrong = [(g, p, t) for g, p, t in zip(frame["label"], predicted, frame["text"], strict=True) if g != p]
        for gold, answer, text in wrong[:options["show_errors"]]:
            self.stdout.write(f"  label {gold:<9} answer {answer:<9} {text[:150]}")

    def _corrected_rows(self, field: str, *, days: int) -> pd.DataFrame:
        """The corrected tickets' texts (as the model read them) and the agents' labels; first,
        how often each tier's stored answers agreed with the agents, week by week."""
        since = datetime.now(UTC) - timedelta(days=days)
        rows = selectors.agreement_with_agents(since=since)
        self.stdout.write(f"stored answers against agents' corrections, last {days} days (week, tier, field):")
        for row in rows:
            self.stdout.write(f"  {row.period}  {row.provider:<11} {row.field:<11} {row.share:6.1%} "
                              f"({row.agreed}/{row.total})")
        tickets = ticket_selectors.corrected_tickets(since=since)
        if not tickets:
            raise CommandError(f"no ticket was corrected by an agent in the last {days} days")
        labels = [t["correction"][field] for t in tickets]
        self.stdout.write(f"now re-analysing the {len(tickets)} corrected tickets:")
        return pd.DataFrame({"text": [t["analysis"]["input_text"] for t in tickets], "label": labels})

    def _analyse(self, chain, frame: pd.DataFrame, field: str, *, noun: str) -> tuple[list[str], Counter, float]:
        items = [Item(id=str(row), text=text) for row, text in zip(frame.index, frame["text"], strict=True)]
        answers: dict[str, str] = {}
        providers: Counter = Counter()
        started = time.monotonic()
        for start in range(0, len(items), CHUNK):
            chunk = items[start:start + CHUNK]
            result = chain.analyse(chunk)
            requeued = [item for item in chunk if item.id in result.requeued]
            if requeued:
                solo = chain.analyse(requeued, solo=True)
                result.analysed.update(solo.analysed)
            for item_id, outcome in result.analysed.items():
                answers[item_id] = getattr(outcome.analysis, field)
                providers[f"{outcome.provider}/{outcome.model}"] += 1
                if outcome.attempts > 1:
                    providers["(of which needed more than one call)"] += 1
            done = min(start + CHUNK, len(items))
            rate = done / max(time.monotonic() - started, 1e-9)
            print(f"\r{done}/{len(items)} {noun}, {rate:.2f}/s", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        missing = len(items) - len(answers)
        if missing:
            providers["no answer (every tier failed)"] = missing
        return [answers.get(item.id, evaluation.NO_ANSWER) for item in items], providers, time.monotonic() - started

    def _report(self, scores: evaluation.Scores, providers: Counter, seconds: float, field: str, *,
                noun: str) -> None:
        write = self.stdout.write
        write(f"field: {field}   {noun}: {scores.total}")
        write(f"accuracy: {scores.accuracy:.3f}")
        write(f"macro-F1: {scores.macro_f1:.3f}")
        for c in scores.per_class:
            write(f"  {c.label:<18} precision {c.precision:.3f}  recall {c.recall:.3f}  F1 {c.f1:.3f}  "
                  f"support {c.support}")
        write("confusion matrix (rows: labels in the file, columns: answers):")
        write(evaluation.confusion_table(scores))
        write(f"throughput: {scores.total / seconds:.2f} {noun}/s ({seconds:.1f} s)")
        write("providers: " + ", ".join(f"{name} {count}" for name, count in providers.most_common()))


def _mapping(pairs: list[str]) -> dict[str, str]:
    """--map VALUE=LABEL pairs, case aside; a pair without "=" is an error to say."""
    mapping = {}
    for pair in pairs:
        value, sep, label = pair.partition("=")
        if not sep:
            raise CommandError(f"--map {pair!r}: write VALUE=LABEL")
        mapping[value.strip().lower()] = label.strip().lower()
    return mapping


def _labelled_rows(path: Path, *, text_column: str, label_column: str, field: str, subject_column: str | None = None,
                   mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """The file's texts and normalised labels; a clear error for a missing column or a label
    outside the field's vocabulary (with the rows that hold it). E-mails (`subject_column`)
    are read as the pipeline reads a mail: its subject, then the body's new words."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: not a readable CSV ({error})") from error
    for column in (text_column, label_column, *([subject_column] if subject_column else [])):
        if column not in frame.columns:
            raise CommandError(f"{path}: no column {column!r}; columns are: {', '.join(map(str, frame.columns))}")
    labels = frame[label_column].str.strip().str.lower()
    if mapping:
        labels = labels.map(mapping)
        frame, labels = frame[labels.notna()].reset_index(drop=True), labels[labels.notna()].reset_index(drop=True)
    allowed = vocabulary.VOCABULARY[field]
    outside = labels[~labels.isin(allowed)]
    if not outside.empty:
        rows_of: dict[str, list[int]] = {}
        for position, value in zip(range(len(labels)), labels, strict=True):
            if value not in allowed:
                rows_of.setdefault(value, []).append(position + 2)  # file line: header is line 1
        examples = "; ".join(f"{value!r} (row {', '.join(map(str, rows[:3]))})"
                             for value, rows in sorted(rows_of.items()))
        raise CommandError(f"{path}: {len(outside)} label(s) in {label_column!r} are not {field} values "
                           f"({', '.join(allowed)}): {examples[:600]}")
    # The model reads what the pipeline would give it: the cleaned text (no URLs, mentions, emojis).
    if subject_column is None:
        return pd.DataFrame({"text": clean_for_model(frame[text_column]), "label": labels})
    words = clean_for_model(frame[text_column].map(new_words))
    texts = [customer_words([{"clean_text": text, "mail": {"subject": subject}}])
             for text, subject in zip(words, frame[subject_column], strict=True)]
    return pd.DataFrame({"text": texts, "label": labels})


def _limited(frame: pd.DataFrame, *, limit: int | None, balanced: bool) -> pd.DataFrame:
    if not limit:
        return frame
    if not balanced:
        return frame.head(limit)
    per_label = max(1, limit // frame["label"].nunique())
    return frame.groupby("label", sort=False, group_keys=False).head(per_label).sort_index()
