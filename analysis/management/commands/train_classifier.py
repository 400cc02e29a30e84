"""python manage.py train_classifier [--limit N] [--force]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analysis import services
from analysis.classifier import FIELDS, NEVER, TARGET_PRECISION


class Command(BaseCommand):
    help = ("Train the distilled classifier on the tickets the LLM tiers labelled and agents corrected, "
            "score it on a held-out split, store it, and activate it unless the active version is better.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=200_000, help="at most this many tickets")
        parser.add_argument("--force", action="store_true", help="activate even if the active version scores better")

    def handle(self, *args, limit: int, force: bool, **options) -> None:
        try:
            outcome = services.train_classifier(limit=limit, force=force)
        except ValueError as refusal:
            raise CommandError(str(refusal)) from refusal
        evaluation = outcome.evaluation
        self.stdout.write(f"trained on {outcome.trained_on:,} tickets ({outcome.corrections:,} corrected by agents, "
                          f"weighted more); held out {evaluation.held_out:,}")
        self.stdout.write(f"{'field':<12}{'agreement':>11}{'macro-F1':>10}{'threshold':>11}{'taken alone':>13}")
        for field in FIELDS:
            threshold = evaluation.thresholds[field]
            shown = "never" if threshold >= NEVER else f"{threshold:.3f}"
            self.stdout.write(f"{field:<12}{evaluation.agreement[field]:>11.3f}{evaluation.macro_f1[field]:>10.3f}"
                              f"{shown:>11}{evaluation.coverage[field]:>13.1%}")
        self.stdout.write(f"tweets taken without an LLM call (every field sure, target precision "
                          f"{TARGET_PRECISION:.0%}): {evaluation.accepted_share:.1%}, of which "
                          f"{evaluation.accepted_precision:.1%} fully right")
        if outcome.previous:
            self.stdout.write(f"the active version scored {outcome.previous.score:.3f} on this split; "
                              f"the new one {evaluation.score:.3f}")
        self.stdout.write(outcome.message)
