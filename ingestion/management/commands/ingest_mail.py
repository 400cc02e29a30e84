"""python manage.py ingest_mail PATH [PATH ...]: .eml files (one message each) and .mbox files."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingestion import mail, services

BATCH = 500  # messages per job: a mailbox of any size in bounded memory, each batch resumable


class Command(BaseCommand):
    help = "Ingest e-mails from .eml and .mbox files: each stored raw, threaded, made a ticket where a customer writes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args, paths: list[Path], **options) -> None:
        for path in paths:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            batches = _batches(mail.split_mbox(path)) if path.suffix.lower() == ".mbox" else [[path.read_bytes()]]
            for number, batch in enumerate(batches, start=1):
                job = services.ingest_mails(messages=batch, user="cli", origin=f"{path.name} #{number}")
                counters = job.counters
                self.stdout.write(f"{path.name} #{number}: {len(batch)} message(s), {counters.tweets_created} new, "
                                  f"{counters.quarantined} quarantined, {counters.tickets_created} ticket(s) created "
                                  f"(job {job.id})")


def _batches(messages):
    batch: list[bytes] = []
    for raw in messages:
        batch.append(raw)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
