"""python manage.py score_tiers [--tier fast|local|openai|ollama] [--sample N]"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis import classifier, scorecards, training_data
from analysis.chain import tier_configs
from analysis.classifier import FIELDS
from analysis.models import TierScorecard


class Command(BaseCommand):
    help = ("Measure each enabled tier (the fast heads, each LLM tier with its model and prompt version), or one, "
            "on a fixed sample of the labelled tweets; store its scorecard (the refinement queue reads it) and "
            "print the table.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tier", help="measure this tier alone (fast, local, openai or ollama)")
        parser.add_argument("--sample", type=int, default=training_data.SCORECARD_SAMPLE, metavar="N",
                            help=f"tweets of the evaluation slice, half English, half French "
                                 f"(default {training_data.SCORECARD_SAMPLE})")

    def handle(self, *args, tier: str | None, sample: int, **options) -> None:
        if sample < 1:
            raise CommandError("--sample must be at least 1")
        tiers = [tier] if tier else _enabled()
        if not tiers:
            raise CommandError("no tier is enabled: the fast tier is off and DALLOSH_ANALYSIS_TIERS names none")
        cards = []
        for name in tiers:
            self.stdout.write(f"measuring {name} on {sample} tweets…")
            try:
                cards.append(scorecards.measure(tier=name, size=sample, progress=_progress))
            except ValueError as refusal:
                raise CommandError(str(refusal)) from refusal
            print(file=sys.stderr)
        for line in table_lines(cards):
            self.stdout.write(line)


def _enabled() -> list[str]:
    fast = [classifier.TIER] if classifier.active() is not None else []
    return fast + [config.name for config in tier_configs()]


def _progress(done: int, total: int) -> None:
    print(f"\r{done}/{total} tweets", end="", file=sys.stderr, flush=True)


def table_lines(cards: list[TierScorecard]) -> list[str]:
    """The scorecards as the command prints them: accuracy per field, then per language."""
    lines = [f"{'tier':<8}{'model':<28}{'prompt':<14}" + "".join(f"{f:>12}" for f in FIELDS)
             + f"{'tweets':>8}{'errors':>8}{'seconds':>9}"]
    for card in cards:
        lines.append(f"{card.tier:<8}{card.model[:27]:<28}{card.prompt_version:<14}"
                     + "".join(f"{card.accuracy[f]:>12.1%}" for f in FIELDS)
                     + f"{card.tweets:>8}{card.errors:>8}{card.seconds:>9.1f}")
        for language, accuracy in sorted(card.per_language.items()):
            lines.append(f"{'':<8}{'  ' + language:<28}{'':<14}" + "".join(f"{accuracy[f]:>12.1%}" for f in FIELDS))
    if cards:
        lines.append(f"sample: {cards[0].sample}; a tier not measured for its model and prompt version is assumed "
                     "better than the heads")
    return lines
