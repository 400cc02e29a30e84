"""python manage.py ingest PATH [PATH ...] [--source S] [--format F]"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ingestion import services
from ingestion.models import JobStatus
from ingestion.selectors import job_progress


class Command(BaseCommand):
    help = "Ingest CSV files of tweets (twcs or French operator format), with progress and resume."

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="+", type=Path)
        parser.add_argument("--source", help="namespace of the tweet ids (default: the format's name)")
        parser.add_argument("--format", dest="format_name", choices=["twcs", "free_fr"],
                            help="skip detection and read the file as this format")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
        parser.add_argument("--take-over", action="store_true",
                            help="resume a job still marked running whose runner is known to be dead")

    def handle(self, *args, paths: list[Path], source: str | None, format_name: str | None, no_progress: bool,
               take_over: bool, **options) -> None:
        for path in paths:
            self._ingest_one(path, source=source, format_name=format_name, show_bar=not no_progress,
                             take_over=take_over)

    def _ingest_one(self, path: Path, *, source: str | None, format_name: str | None, show_bar: bool,
                    take_over: bool) -> None:
        try:
            job = services.create_file_job(path=path, source=source, format_name=format_name, user="cli")
        except services.IngestError as exc:
            raise CommandError(str(exc)) from exc
        if job.status == JobStatus.COMPLETED:
            self.stdout.write(f"{path}: already ingested (job {job.id}); nothing to do")
            return
        if job.next_row:
            self.stdout.write(f"{path}: resuming job {job.id} at row {job.next_row}")
        bar = tqdm(total=job.size_bytes, initial=job.bytes_done, unit="B", unit_scale=True, disable=not show_bar,
                   desc=path.name, dynamic_ncols=True)
        started, first_row = time.monotonic(), job.next_row

        def on_progress(current, outcome) -> None:
            bar.update(current.bytes_done - bar.n)
            rate = (current.next_row - first_row) / max(time.monotonic() - started, 1e-6)
            bar.set_postfix(rows=current.next_row, rows_s=f"{rate:,.0f}", quarantined=current.counters.quarantined)

        try:
            job = services.run_job(job_id=job.id, on_progress=on_progress, take_over=take_over)
        except KeyboardInterrupt as exc:
            bar.close()
            raise CommandError(f"interrupted: job {job.id} will resume from its last chunk when run again") from exc
        except services.JobBusy as exc:
            raise CommandError(f"{exc}; if its runner is dead, run again with --take-over") from exc
        finally:
            bar.close()
        summary = job_progress(job)
        counters = summary["counters"]
        self.stdout.write(
            f"{path}: {job.status} — {counters.get('rows_read', 0)} rows, "
            f"{counters.get('tweets_created', 0)} new tweets, {counters.get('tickets_created', 0)} new tickets, "
            f"{counters.get('quarantined', 0)} quarantined, {counters.get('duplicates', 0)} duplicates, "
            f"{counters.get('retweets', 0)} retweets, {counters.get('brand_posts', 0)} brand posts "
            f"({summary['rows_per_second'] or 0:,.0f} rows/s; job {job.id})"
        )
