"""python manage.py train_classifier [--limit N] [--force]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analysis import services
from analysis.classifier import report_lines


class Command(BaseCommand):
    help = ("Train the fast tier's heads on the dev sets, the shipped teacher labels and the tickets the LLM "
            "refined and agents corrected; score them on a held-out split, store them, and activate them "
            "unless the active version agrees better.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=200_000, help="at most this many tickets")
        parser.add_argument("--force", action="store_true", help="activate even if the active version scores better")

    def handle(self, *args, limit: int, force: bool, **options) -> None:
        try:
            outcome = services.train_classifier(limit=limit, force=force)
        except ValueError as refusal:
            raise CommandError(str(refusal)) from refusal
        evaluation = outcome.evaluation
        sources = ", ".join(f"{name} {count:,}" for name, count in sorted(outcome.sources.items()))
        self.stdout.write(f"trained on {outcome.trained_on:,} examples, held out {evaluation.held_out:,} "
                          f"(sources: {sources}; agents' corrections weigh most)")
        for line in report_lines(evaluation):
            self.stdout.write(line)
        if outcome.previous:
            self.stdout.write(f"the active version scored {outcome.previous.score:.3f} on this split; "
                              f"the new one {evaluation.score:.3f}")
        self.stdout.write(outcome.message)
