"""The support mailbox over IMAP: new messages become e-mails of the pipeline, batch by batch.

The housekeeping cluster polls it every minute (ingestion/migrations/0003); `manage.py
poll_mailbox` polls it once. Nothing is lost or doubled whatever dies when:
- the folder is opened read-only and fetched with BODY.PEEK: the mailbox is the customer's
  and other tools' too, so Dallosh marks nothing as read and deletes nothing;
- the checkpoint (the last UID stored, for the folder's UIDVALIDITY) moves only after the
  batch's job committed; a poller killed mid-fetch fetches that batch again next time, and
  the e-mail door stores a message it already holds (same Message-ID, same bytes) once;
- a changed UIDVALIDITY (the folder was rebuilt) reads the folder again from its start, with
  the same guarantee;
- one poller at a time per mailbox (a lease), and each poll reads at most `max_batches`
  batches, so it never outlives its lease.
`manage.py poll_mailbox --watch` reads mail as it arrives: it waits in IMAP IDLE (RFC 2177)
where the server offers it, and polls every minute where it does not; the minute poll stays
as the safety net, and the lease keeps the two from reading the same batch at once.
TLS always: `imaps://` (implicit TLS) or `imap://` upgraded with STARTTLS; a server that
offers neither is refused rather than sent the password in clear.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import select
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from dallosh import leases
from ingestion import services
from ingestion.models import MailboxCheckpoint

UID_IN_FETCH = re.compile(rb"\bUID (\d+)")
IDLE_RENEW_S = 25 * 60  # RFC 2177: a client re-issues IDLE within 29 minutes, or the server may drop it
IDLE_TAG = b"DLIDLE"  # the watcher's own tag: it reads IDLE's answers itself, outside imaplib
NEW_MAIL = re.compile(rb"^\* \d+ EXISTS", re.IGNORECASE)


class MailboxError(RuntimeError):
    """The mailbox cannot be read as configured (a wrong URL, refused login, no TLS)."""


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        """imaps://user:password@host[:993]/Folder or imap://… (STARTTLS); the folder defaults to INBOX."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise MailboxError(_("the mailbox URL must read imaps://user:password@host/folder"))
        implicit = parts.scheme == "imaps"
        return cls(host=parts.hostname, port=parts.port or (993 if implicit else 143),
                   user=unquote(parts.username), password=unquote(parts.password or ""),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX", implicit_tls=implicit)

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


@dataclass(frozen=True)
class PollOutcome:
    mailbox: str
    fetched: int  # messages read from the server this poll
    created: int  # of which were new to Dallosh
    quarantined: int
    last_uid: int
    more: bool  # the poll stopped at its batch limit: the next one goes on


def poll_mailbox(*, url: str) -> PollOutcome:
    """One poll of the mailbox at `url`: every message past the checkpoint, in batches."""
    mailbox = Mailbox.from_url(url)
    config = settings.DALLOSH_MAIL
    ttl = timedelta(seconds=config.timeout_s * (config.max_batches + 2))
    with leases.held(name=f"mailbox:{mailbox.key}", ttl=ttl), _connected(mailbox, config.imap_cafile,
                                                                           config.timeout_s) as imap:
        uid_validity = _open_folder(imap, mailbox.folder)
        checkpoint = _checkpoint(mailbox.key, uid_validity)
        pending = _uids_after(imap, checkpoint.last_uid)
        fetched = created = quarantined = 0
        last_uid = checkpoint.last_uid
        batches = [pending[at:at + config.fetch_batch] for at in range(0, len(pending), config.fetch_batch)]
        for uids in batches[:config.max_batches]:
            messages = list(_fetch(imap, uids))
            if messages:  # the same e-mail door as uploads: a message fetched again is stored once
                job = services.ingest_mails(messages=messages, user="imap",
                                            origin=f"{mailbox.key} UID {uids[0]}–{uids[-1]}")
                fetched += len(messages)
                created += job.counters.tweets_created
                quarantined += job.counters.quarantined
            last_uid = uids[-1]
            _advance(mailbox.key, uid_validity=uid_validity, last_uid=last_uid, messages=len(messages))
    return PollOutcome(mailbox=mailbox.key, fetched=fetched, created=created, quarantined=quarantined,
                       last_uid=last_uid, more=len(batches) > config.max_batches)


def watch_mailbox(*, url: str, stop: threading.Event, report: Callable[[PollOutcome | Exception], None],
                  fallback_s: float = 60.0) -> None:
    """Read the mailbox at `url` as mail arrives, until `stop` is set: poll, then wait in IDLE
    until the server announces new mail (renewed every 25 minutes), or `fallback_s` where the
    server has no IDLE. A mailbox that cannot be reached is retried after `fallback_s`: the
    watcher outlives a server restart. Each poll's outcome, or error, goes to `report`."""
    mailbox = Mailbox.from_url(url)
    config = settings.DALLOSH_MAIL
    while not stop.is_set():
        try:
            with _connected(mailbox, config.imap_cafile, config.timeout_s) as imap:
                _open_folder(imap, mailbox.folder)
                idle = _offers_idle(imap)
                if idle:
                    with _idling(imap):
                        _read_backlog_beside(url, report)  # what arrived before the server listened for us
                        announced = _wait_for_mail(imap, stop=stop, until=time.monotonic() + IDLE_RENEW_S)
            if not idle:  # no session held while waiting for the next poll
                _read_backlog_beside(url, report)
                stop.wait(fallback_s)
            elif announced:
                _read_backlog_beside(url, report)
        except (MailboxError, OSError, imaplib.IMAP4.error) as exc:
            report(exc)
            stop.wait(fallback_s)


def read_backlog(*, url: str, report: Callable[[PollOutcome], None]) -> None:
    """Poll until every message past the checkpoint is read (each poll stops at its batch
    limit), each poll's outcome to `report`; LeaseTaken where another poll is reading."""
    while True:
        outcome = poll_mailbox(url=url)
        report(outcome)
        if not outcome.more:
            return


def _read_backlog_beside(url: str, report: Callable[[PollOutcome | Exception], None]) -> None:
    """The watcher's read: a poll already running elsewhere (the minute poll) reads it instead."""
    try:
        read_backlog(url=url, report=report)
    except leases.LeaseTaken as exc:
        report(exc)


def _offers_idle(imap: imaplib.IMAP4) -> bool:
    status, data = imap.capability()  # after login: a server may offer more than it did before
    return status == "OK" and b"IDLE" in b" ".join(data).upper().split()


@contextlib.contextmanager
def _idling(imap: imaplib.IMAP4) -> Iterator[None]:
    """The session in IDLE for the block's length: imaplib (3.13) has no IDLE, so the watcher
    speaks it itself, under its own tag, and ends it (DONE) before imaplib speaks again."""
    imap.send(IDLE_TAG + b" IDLE\r\n")
    answer = imap.readline()
    if not answer.startswith(b"+"):
        raise MailboxError(f"IDLE refused: {answer.decode(errors='replace').strip()}")
    try:
        yield
    finally:
        imap.send(b"DONE\r\n")
        while (line := imap.readline()) and not line.startswith(IDLE_TAG):
            pass  # what the server said meanwhile: the poll that follows reads the folder anew


def _wait_for_mail(imap: imaplib.IMAP4, *, stop: threading.Event, until: float) -> bool:
    """True when the server announces a new message before `until`; its keep-alives ("* OK
    Still here") are read and let pass. Looks at `stop` every second."""
    while not stop.is_set() and (left := until - time.monotonic()) > 0:
        pending = isinstance(imap.sock, ssl.SSLSocket) and imap.sock.pending()
        if pending or select.select([imap.sock], [], [], min(left, 1.0))[0]:
            line = imap.readline()
            if not line or line.upper().startswith(b"* BYE"):
                said = line.decode(errors="replace").strip()
                raise MailboxError(_("the server ended the session: %(said)s") % {"said": said})
            if NEW_MAIL.match(line):
                return True
    return False


def session(*, url: str) -> contextlib.AbstractContextManager[imaplib.IMAP4]:
    """An authenticated session on the mailbox at `url`, as the poller opens it (the demo's
    seeding and the bench deliver mail through it)."""
    config = settings.DALLOSH_MAIL
    return _connected(Mailbox.from_url(url), config.imap_cafile, config.timeout_s)


@contextlib.contextmanager
def _connected(mailbox: Mailbox, cafile: Path | None, timeout: float) -> Iterator[imaplib.IMAP4]:
    """An authenticated IMAP session over TLS, logged out on the way out."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    try:
        if mailbox.implicit_tls:
            imap = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, ssl_context=context, timeout=timeout)
        else:
            imap = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
            if "STARTTLS" not in imap.capabilities:
                imap.shutdown()
                raise MailboxError(_("%(host)s offers no STARTTLS: the password would travel in clear")
                                   % {"host": mailbox.host})
            imap.starttls(ssl_context=context)
        imap.login(mailbox.user, mailbox.password)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(_("cannot open %(mailbox)s: %(error)s")
                           % {"mailbox": mailbox.key, "error": exc}) from exc
    try:
        yield imap
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):  # the session is over either way
            imap.logout()


def _open_folder(imap: imaplib.IMAP4, folder: str) -> int:
    status, detail = imap.select(_quoted(folder), readonly=True)
    if status != "OK":
        raise MailboxError(_("no folder %(folder)s: %(detail)s") % {"folder": folder, "detail": detail})
    return int(imap.response("UIDVALIDITY")[1][0])


def _uids_after(imap: imaplib.IMAP4, last_uid: int) -> list[int]:
    # "n:*" always names the newest message, even one below n: keep only those past the checkpoint.
    found = imap.uid("SEARCH", None, f"UID {last_uid + 1}:*")[1]
    return sorted(uid for uid in map(int, b" ".join(found).split()) if uid > last_uid)


def _fetch(imap: imaplib.IMAP4, uids: list[int]) -> Iterator[bytes]:
    """Each message's bytes exactly as the server holds them, in UID order."""
    status, data = imap.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    if status != "OK":
        raise MailboxError(f"UID FETCH failed: {data}")
    found = {}
    for item in data:
        if isinstance(item, tuple) and (uid := UID_IN_FETCH.search(item[0])):
            found[int(uid.group(1))] = item[1]
    for uid in uids:
        if uid in found:  # a message expunged meanwhile is simply gone
            yield found[uid]


def _checkpoint(key: str, uid_validity: int) -> MailboxCheckpoint:
    checkpoint = MailboxCheckpoint.objects(mailbox=key).first()
    if checkpoint is None or checkpoint.uid_validity != uid_validity:
        return MailboxCheckpoint(mailbox=key, uid_validity=uid_validity, last_uid=0)
    return checkpoint


def _advance(key: str, *, uid_validity: int, last_uid: int, messages: int) -> None:
    MailboxCheckpoint.objects(mailbox=key).update_one(
        upsert=True, set__uid_validity=uid_validity, set__last_uid=last_uid, inc__messages=messages,
        set__updated_at=datetime.now(UTC))


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
