"""python manage.py classifier_versions [--activate N]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from analysis import classifier, selectors, training


class Command(BaseCommand):
    help = ("List the fast tier's versions (what each learned from, its figures on the evaluation slice, which is "
            "active), or make one active: a rollback reaches every worker within a minute; the starter (shipped) "
            "has the lowest number.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--activate", type=int, metavar="N",
                            help="make version N active (the starter's number: the shipped heads)")

    def handle(self, *args, activate: int | None, **options) -> None:
        if activate is not None:
            try:
                training.activate_version(version=activate)
            except (training.VersionUnknown, classifier.VersionCorrupt) as refusal:
                raise CommandError(str(refusal)) from refusal
            self.stdout.write(f"version {activate} is now active; every worker follows within a minute")
        self.stdout.write(f"{'':2}{'version':>8}  {'created (UTC)':<17} {'slice score':>11}  "
                          f"{'corrections':>11}  sources")
        for row in selectors.classifier_versions():
            mark = "* " if row.active else "  "
            score = f"{row.slice_score:.3f}" if row.slice_score is not None else "-"
            created = row.created_at.strftime("%Y-%m-%d %H:%M") if row.created_at else "shipped"
            sources = ", ".join(f"{k} {v:,}" for k, v in sorted(row.sources.items()))
            self.stdout.write(f"{mark}{row.version:>8}  {created:<17} {score:>11}  {row.corrections:>11}  {sources}")
