"""The support mailbox over IMAP (ingestion/mailbox.py) against a real Dovecot on loopback,
over TLS: new mails become tickets once, the mailbox is left as it was, and a poller killed
mid-fetch resumes with nothing lost or doubled."""

from __future__ import annotations

import imaplib
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from config.embedded import ROOT, free_port, start_dovecot
from dallosh.leases import Lease, LeaseTaken
from ingestion.mailbox import MailboxError, PollOutcome, poll_mailbox, watch_mailbox
from ingestion.models import IngestJob, MailboxCheckpoint, Tweet
from tests.helpers import email_bytes
from tests.steps import child_env, wait_for
from tickets.models import Ticket


@pytest.fixture(scope="module")
def dovecot():
    # Under /tmp itself: run as root, Dovecot reads its mail as its own account, which pytest's
    # private temporary folders do not let through.
    directory = Path(tempfile.mkdtemp(prefix="dallosh-dovecot-"))
    server = start_dovecot(port=free_port(), directory=directory)
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def folder(dovecot, settings, request):
    """A folder of its own for each test, and the URL that polls it."""
    name = re.sub(r"\W", "", request.node.name)[-40:]
    settings.DALLOSH_MAIL = settings.DALLOSH_MAIL.replace(imap_cafile=dovecot.cafile, fetch_batch=20)
    with session(dovecot) as imap:
        imap.create(name)
    return dovecot.url.removesuffix("INBOX") + name, name


class session:
    def __init__(self, dovecot):
        self.dovecot = dovecot

    def __enter__(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.dovecot.cafile))
        self.imap = imaplib.IMAP4_SSL("127.0.0.1", self.dovecot.server.port, ssl_context=context)
        self.imap.login(self.dovecot.user, self.dovecot.password)
        return self.imap

    def __exit__(self, *exc) -> None:
        self.imap.logout()


def deliver(dovecot, folder: str, *messages: bytes) -> None:
    with session(dovecot) as imap:
        for raw in messages:
            assert imap.append(folder, None, None, raw)[0] == "OK"


def unseen(dovecot, folder: str) -> int:
    with session(dovecot) as imap:
        imap.select(folder, readonly=True)
        return len(imap.search(None, "UNSEEN")[1][0].split())


def test_new_mails_become_tickets_once_and_the_mailbox_is_left_unread(dovecot, folder):
    url, name = folder
    deliver(dovecot, name,
            email_bytes(message_id="<fr1@example.fr>"),
            email_bytes(sender="Sam Reed <sam@example.com>", subject="Bill", message_id="<en1@example.com>",
                        body=None, html="<p>My <b>bill</b> is charged twice this month.</p>"),
            email_bytes(message_id="<ooo@example.fr>", subject="Absence du bureau",
                        headers={"Auto-Submitted": "auto-replied"}, body="Je suis absente jusqu'au 3."))
    first = poll_mailbox(url=url)
    assert (first.fetched, first.created, first.quarantined, first.more) == (3, 3, 0, False)
    assert Ticket.objects.count() == 2  # the out-of-office reply is kept, and is no request
    assert {t.text for t in Tweet.objects} >= {"Bonjour, plus d'internet depuis ce matin.",
                                               "My bill is charged twice this month."}
    again = poll_mailbox(url=url)
    assert (again.fetched, again.created) == (0, 0)
    deliver(dovecot, name, email_bytes(message_id="<fr2@example.fr>", in_reply_to="<fr1@example.fr>",
                                       subject="Re: Panne internet", body="Toujours rien ce soir."))
    reply = poll_mailbox(url=url)
    assert (reply.fetched, reply.created) == (1, 1) and Ticket.objects.count() == 2  # the thread's ticket
    assert unseen(dovecot, name) == 4  # read-only: nothing marked as read, nothing deleted
    assert MailboxCheckpoint.objects.get().messages == 4


def test_a_poller_killed_mid_fetch_resumes_with_nothing_lost_or_doubled(dovecot, folder, servers, settings):
    url, name = folder
    count = 400
    deliver(dovecot, name, *(email_bytes(message_id=f"<n{n}@example.fr>", sender=f"client{n} <c{n}@example.fr>",
                                         body=f"Ma box redémarre sans cesse, cas {n}.") for n in range(count)))
    env = child_env(servers, DALLOSH_IMAP_CAFILE=str(dovecot.cafile), DALLOSH_IMAP_FETCH_BATCH="10")
    poller = subprocess.Popen([sys.executable, "manage.py", "poll_mailbox", "--url", url], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: IngestJob.objects.count(), until=lambda jobs: jobs >= 2, timeout=60, every=0.02)
        os.killpg(poller.pid, signal.SIGKILL)
    finally:
        poller.wait(timeout=30)
    stored_when_killed = Tweet.objects.count()
    assert 0 < stored_when_killed < count, "the poller was to be killed mid-fetch"
    with pytest.raises(LeaseTaken):  # the dead poller's lease holds until it expires...
        poll_mailbox(url=url)
    Lease.objects.update(set__until=datetime.now(UTC) - timedelta(seconds=1))  # ...as it now has
    settings.DALLOSH_MAIL = settings.DALLOSH_MAIL.replace(max_batches=1000)
    resumed = poll_mailbox(url=url)
    assert resumed.last_uid == count and Tweet.objects.count() == count and Ticket.objects.count() == count
    stored = sorted(tweet.mail["message_id"].strip("<>") for tweet in Tweet.objects)
    assert stored == sorted(f"n{n}@example.fr" for n in range(count))


def test_a_watcher_reads_a_mail_as_it_arrives_over_idle_and_stops_when_told(dovecot, folder):
    url, name = folder
    deliver(dovecot, name, email_bytes(message_id="<before@example.fr>"))
    stop, reports = threading.Event(), []
    # No fallback poll within the test's time: only the server's IDLE announcement can wake it.
    watcher = threading.Thread(target=watch_mailbox, kwargs={"url": url, "stop": stop, "report": reports.append,
                                                             "fallback_s": 600}, daemon=True)
    watcher.start()
    try:
        assert wait_for(lambda: Tweet.objects.count(), until=lambda n: n == 1, timeout=20) == 1  # the backlog first
        time.sleep(1)  # the watcher is idling now
        deliver(dovecot, name, email_bytes(message_id="<live@example.fr>", subject="Coupure", body="Plus de réseau."))
        assert wait_for(lambda: Tweet.objects.count(), until=lambda n: n == 2, timeout=20) == 2
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not watcher.is_alive()
    assert [report.fetched for report in reports if isinstance(report, PollOutcome) and report.fetched] == [1, 1]
    assert not [report for report in reports if isinstance(report, Exception)]
    assert unseen(dovecot, name) == 2 and Ticket.objects.count() == 2


def test_the_watch_command_reads_new_mail_and_ends_cleanly_on_sigterm(dovecot, folder, servers):
    url, name = folder
    env = child_env(servers, DALLOSH_IMAP_CAFILE=str(dovecot.cafile))
    watcher = subprocess.Popen([sys.executable, "manage.py", "poll_mailbox", "--watch", "--url", url], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deliver(dovecot, name, email_bytes(message_id="<w1@example.fr>"))
        assert wait_for(lambda: Tweet.objects.count(), until=lambda n: n == 1, timeout=30) == 1
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=15)
    finally:
        watcher.kill()
    assert watcher.returncode == 0, err
    assert f":{dovecot.password}@" not in out and "1 message(s) read, 1 new" in out


def test_a_wrong_password_or_url_is_a_clear_error(dovecot, folder):
    url, _ = folder
    with pytest.raises(MailboxError, match="cannot open"):
        poll_mailbox(url=url.replace(f":{dovecot.password}@", ":wrong@"))
    with pytest.raises(CommandError, match="imaps://user:password@host/folder"):
        call_command("poll_mailbox", "--url", "https://example.fr/")
