"""Recompute the KPI rollups from the tickets and tweets (after a restore or a bulk load)."""

from django.core.management.base import BaseCommand

from dashboard import kpis


class Command(BaseCommand):
    help = "Recompute the day and hour KPI rollups from the stored tickets and tweets."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"{kpis.rebuild_kpis()} KPI bucket(s) rebuilt.")
