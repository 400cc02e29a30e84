"""python manage.py poll_mailbox [--url imaps://user:password@host/INBOX]: read the support
mailbox's new messages once (the housekeeping cluster does it every minute)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dallosh.leases import LeaseTaken
from ingestion.mailbox import MailboxError, poll_mailbox


class Command(BaseCommand):
    help = "Read the support mailbox's new messages over IMAP; each becomes an e-mail of the pipeline, once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default=None, help="the mailbox (default: DALLOSH_IMAP_URL)")

    def handle(self, *args, url: str | None, **options) -> None:
        url = url or settings.DALLOSH_MAIL.imap_url
        if not url:
            raise CommandError("no mailbox: set DALLOSH_IMAP_URL or pass --url")
        while True:
            try:
                outcome = poll_mailbox(url=url)
            except (MailboxError, LeaseTaken) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{outcome.mailbox}: {outcome.fetched} message(s) read, {outcome.created} new, "
                              f"{outcome.quarantined} quarantined, up to UID {outcome.last_uid}")
            if not outcome.more:
                return
