"""E-mail channel benchmark: a real Dovecot mailbox read into routed tickets.

    .venv/bin/python bench/email_channel.py [--messages 10000] [--batch 200] [--workers]

A fresh SecantusDB and Redis, Debian's Dovecot on loopback (config/embedded.start_dovecot,
IMAPS), and a mailbox of --messages e-mails built from ../shared/data/support_emails_sample.csv
(332 real-looking support mails, synthetic, CC BY-NC 4.0), repeated with their own
Message-ID, sender, date and customer reference (the same body twice would be a copy-paste
campaign, one ticket): SCALED DATA. Appending them to the mailbox is not timed. Then,
timed: the poller reads the mailbox in --batch batches through the e-mail door
(ingestion/mailbox.poll_mailbox: fetch, parse, store raw, thread, tickets), and the fast tier
labels and routes every ticket (analysis.services.label_tickets, in this process, after the
poll). With --workers, production's shape instead: the housekeeping and fast-tier clusters
run as real `manage.py qcluster` processes and label each batch as its job commits, while
the poll goes on (the poller stays in this process, as `poll_mailbox --watch` runs). Prints
e-mails/s for the poll alone and end to end (goal >= 100 e-mails/s on 2 cores), and this
process's peak RSS: run it at two mailbox sizes to see that it stays flat.
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED, embedded_stack, wait_until_routed, worker_clusters

LABEL_SLICE = 500


def mailbox_messages(count: int) -> list[bytes]:
    rows = list(csv.DictReader((SHARED / "support_emails_sample.csv").open(encoding="utf-8")))
    start = datetime(2026, 11, 1, 8, tzinfo=UTC)
    messages = []
    for n in range(count):
        row = rows[n % len(rows)]
        message = EmailMessage()
        message["From"] = f"Client {n} <client{n}@example.com>"
        message["To"] = "support@dallosh.example"
        message["Subject"] = row["subject"] or "(no subject)"
        message["Date"] = format_datetime(start + timedelta(minutes=n))
        message["Message-ID"] = f"<bench-{n}@example.com>"
        # Its own reference: the same body twice would be a copy-paste campaign (one ticket).
        message.set_content(f"{row['body']}\n\nCustomer reference: {n:06d}-{n * 7919 % 100_003:05d}")
        messages.append(bytes(message))
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", action="store_true",
                        help="label on real worker clusters while the poll goes on (production's shape)")
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    with embedded_stack(args.workdir, prefix="bench-channels-") as stack:
        from django.conf import settings

        from analysis import services as analysis_services
        from config.embedded import free_port, start_dovecot
        from ingestion.mailbox import poll_mailbox, session
        from tickets.models import Ticket

        # Under /tmp itself: run as root, Dovecot reads its mail as its own account.
        dovecot = start_dovecot(port=free_port(), directory=Path(tempfile.mkdtemp(prefix="dallosh-dovecot-")))
        try:
            messages = mailbox_messages(args.messages)
            print(f"SCALED DATA: support_emails_sample.csv repeated to {args.messages:,} e-mails", flush=True)
            settings.DALLOSH_MAIL = settings.DALLOSH_MAIL.replace(imap_cafile=dovecot.cafile,
                                                                  fetch_batch=args.batch, max_batches=10**6)
            filling = time.perf_counter()
            with session(url=dovecot.url) as imap:
                for raw in messages:
                    imap.append("INBOX", None, None, raw)
            print(f"mailbox filled in {time.perf_counter() - filling:,.1f} s (not timed below)", flush=True)
            if args.workers:
                settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(auto_enqueue=True)
                with worker_clusters(stack, DALLOSH_IMAP_CAFILE=str(dovecot.cafile)):
                    started = time.perf_counter()
                    outcome = poll_mailbox(url=dovecot.url)
                    polled_s = time.perf_counter() - started
                    total_s = wait_until_routed(started=started, timeout=args.timeout)
            else:
                started = time.perf_counter()
                outcome = poll_mailbox(url=dovecot.url)
                polled_s = time.perf_counter() - started
                ids = list(Ticket.objects(needs_analysis=True).scalar("id"))
                for at in range(0, len(ids), LABEL_SLICE):
                    analysis_services.label_tickets(ticket_ids=ids[at:at + LABEL_SLICE])
                total_s = time.perf_counter() - started
        finally:
            dovecot.stop()
            shutil.rmtree(dovecot.cafile.parent, ignore_errors=True)
        routed = Ticket.objects(team__ne=None).count()
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"e-mails read                 {outcome.fetched:>10,}   {outcome.created:,} new, "
              f"{outcome.quarantined:,} quarantined, in {polled_s:,.1f} s")
        print(f"e-mails per second, poll     {outcome.fetched / polled_s:>10,.0f}   fetch, parse, store raw, "
              "thread, tickets")
        print(f"tickets routed               {routed:>10,}   of {Ticket.objects.count():,}, {total_s:,.1f} s after "
              "the poll started")
        print(f"e-mails per second, routed   {outcome.fetched / total_s:>10,.0f}   end to end (goal >= 100 on 2 cores)")
        print(f"peak RSS, this process       {peak_mb:>10,.0f} MB (SecantusDB, Redis and Dovecot not counted)")


if __name__ == "__main__":
    main()
