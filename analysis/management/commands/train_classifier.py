"""python manage.py train_classifier [--limit N] [--force]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analysis import training
from analysis.classifier import FIELDS, report_lines


class Command(BaseCommand):
    help = ("Train a new version of the fast tier's heads on the labelled tweets, the team's examples, the dev "
            "sets and the tickets the LLM refined and agents corrected; calibrate it on a held-out split, judge it "
            "on the evaluation slice of the labelled set beside the active version, store it, and activate it only "
            "if it is not worse there.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=200_000, help="at most this many tickets")
        parser.add_argument("--force", action="store_true", help="activate even if the active version scores better")

    def handle(self, *args, limit: int, force: bool, **options) -> None:
        try:
            outcome = training.train_classifier(limit=limit, force=force)
        except ValueError as refusal:
            raise CommandError(str(refusal)) from refusal
        evaluation = outcome.evaluation
        sources = ", ".join(f"{name} {count:,}" for name, count in sorted(outcome.sources.items()))
        self.stdout.write(f"trained on {outcome.trained_on:,} examples, calibrated on {evaluation.held_out:,} "
                          f"(sources: {sources}; agents' corrections weigh most, each agent at most "
                          f"{training.AUTHOR_WEIGHT_CAP:.0%} of the whole)")
        for line in report_lines(evaluation):
            self.stdout.write(line)
        self._compare("evaluation slice", outcome.judged, outcome.previous)
        self._compare("corrections held out", outcome.corrections_new, outcome.corrections_previous)
        self.stdout.write(outcome.message)

    def _compare(self, where: str, new, previous) -> None:
        if new is None:
            return
        line = f"{where} ({new.held_out:,} tweets): new " + " ".join(f"{f} {new.agreement[f]:.3f}" for f in FIELDS)
        if previous is not None:
            line += " | active " + " ".join(f"{f} {previous.agreement[f]:.3f}" for f in FIELDS)
        self.stdout.write(line)
