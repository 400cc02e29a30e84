"""python manage.py poll_mailbox [--url imaps://user:password@host/INBOX] [--watch]: read the
support mailbox's new messages once (the housekeeping cluster does it every minute), or, with
--watch, as they arrive (IMAP IDLE) until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dallosh.leases import LeaseTaken
from ingestion.mailbox import MailboxError, PollOutcome, read_backlog, watch_mailbox


class Command(BaseCommand):
    help = "Read the support mailbox's new messages over IMAP; each becomes an e-mail of the pipeline, once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default=None, help="the mailbox (default: DALLOSH_IMAP_URL)")
        parser.add_argument("--watch", action="store_true",
                            help="keep reading as mail arrives (IMAP IDLE, else every minute) until stopped")

    def handle(self, *args, url: str | None, watch: bool, **options) -> None:
        url = url or settings.DALLOSH_MAIL.imap_url
        if not url:
            raise CommandError("no mailbox: set DALLOSH_IMAP_URL or pass --url")
        if watch:
            return self._watch(url)
        try:
            read_backlog(url=url, report=lambda outcome: self._report(outcome, even_empty=True))
        except (MailboxError, LeaseTaken) as exc:
            raise CommandError(str(exc)) from exc

    def _watch(self, url: str) -> None:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"watching {url.rsplit('@', 1)[-1]} (Ctrl-C to stop)")  # never the password
        try:
            watch_mailbox(url=url, stop=stop, report=self._report)
        except MailboxError as exc:  # the URL itself is wrong: no retry can help
            raise CommandError(str(exc)) from exc

    def _report(self, outcome: PollOutcome | Exception, *, even_empty: bool = False) -> None:
        """A watcher says only what it read; a single poll says so even when there was nothing."""
        if isinstance(outcome, Exception):
            self.stderr.write(f"mailbox: {outcome}")
        elif outcome.fetched or outcome.quarantined or even_empty:
            self.stdout.write(f"{outcome.mailbox}: {outcome.fetched} message(s) read, {outcome.created} new, "
                              f"{outcome.quarantined} quarantined, up to UID {outcome.last_uid}")
