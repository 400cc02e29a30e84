"""python manage.py ingest_calls PATH [PATH ...] [--caller N --started-at ISO --agents A,B]:
call transcripts (JSON, WebVTT, SRT, "Client : / Agent :" text), one call per file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ingestion import services, transcripts


class Command(BaseCommand):
    help = "Ingest call transcripts: each file one call, stored raw, its customer's turns analysed and routed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--caller", default="", help="the caller's number, where the file does not say it")
        parser.add_argument("--started-at", default="", help="when the call started (ISO 8601, with its zone)")
        parser.add_argument("--agents", default="", help="comma-separated speaker names who are agents")

    def handle(self, *args, paths: list[Path], caller: str, started_at: str, agents: str, **options) -> None:
        try:
            started = datetime.fromisoformat(started_at) if started_at else None
        except ValueError as error:
            raise CommandError(f"--started-at {started_at!r} is not an ISO date") from error
        hints = transcripts.Hints(caller=caller, started_at=started,
                                  agents=transcripts.Hints.names(agents))
        for path in paths:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            job = services.ingest_calls(calls=[(path.read_bytes(), hints)], user="cli", origin=path.name)
            counters = job.counters
            self.stdout.write(f"{path.name}: {counters.tweets_created} new call(s), {counters.quarantined} "
                              f"quarantined, {counters.tickets_created} ticket(s) created (job {job.id})")
