"""Rebuild the queues' bookkeeping: after an upgrade from a version without queues, a
restore, or a bulk load written straight into MongoDB."""

from django.core.management.base import BaseCommand

from tickets import directory, sla_watch


class Command(BaseCommand):
    help = ("Give routed tickets their queue fields if they lack them (the unsure flag included), then recount the "
            "queue directory.")

    def handle(self, *args, **options) -> None:
        filled = sla_watch.backfill_queue_fields()
        unsure = sla_watch.backfill_unsure()
        days = directory.rebuild_queue_directory()
        self.stdout.write(f"{filled} ticket(s) given queue fields, {unsure} marked unsure; queue directory rebuilt "
                          f"({days} segment-days).")
