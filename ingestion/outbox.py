"""Agents' replies to e-mail tickets, sent over SMTP (`DALLOSH_SMTP_URL`).

Recording the reply (tickets/services.record_reply) queues it here: composed once, as a
reply to the customer's last mail (In-Reply-To, References, "Re: " subject, the brand's From,
the customer's language), stored with its bytes, then sent by the housekeeping cluster at
once and retried every minute with a doubling delay until it is sent or has failed
`send_attempts` times; the ticket page shows where each reply stands.

Never lost: the message is stored before any attempt. Never doubled: a sender claims a
message (compare-and-set, with a lapse for a sender that dies) before sending, and a sent
message is never picked again. The one window SMTP leaves open (the server accepted it and
the sender died before noting it) resends the same bytes under the same Message-ID, which
mail clients show once.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django_q.tasks import async_task

from dallosh.vocabulary import EMAIL
from ingestion import store
from ingestion.models import OutgoingMail, OutgoingStatus

CLAIM = timedelta(minutes=5)  # longer than any SMTP exchange (timeouts are a minute)
FIRST_RETRY = timedelta(minutes=1)
REFERENCES_KEPT = 20  # the thread's last message ids: enough to thread, short enough for any server


class SendFailed(RuntimeError):
    pass


def sending_enabled() -> bool:
    return bool(settings.DALLOSH_MAIL.smtp_url)


def sends_replies(*, channel: str | None) -> bool:
    """Whether recording a reply on a ticket of this channel sends it: e-mail, with a server set."""
    return channel == EMAIL and sending_enabled()


def queue_reply(*, reply_id: str, conversation_id: str, text: str, language: str | None) -> dict:
    """Compose and store the reply to the conversation's last customer mail; the mail fields
    to keep on the recorded reply. Queuing the same reply again changes nothing."""
    config = settings.DALLOSH_MAIL
    thread = store.tweets_of_conversations([conversation_id], projection={"author": 1, "is_brand": 1, "mail": 1,
                                                                          "created_at": 1, "language": 1})
    thread.sort(key=lambda tweet: tweet["created_at"])
    ids = [_angled(tweet["mail"]["message_id"]) for tweet in thread if (tweet.get("mail") or {}).get("message_id")]
    customer = next((t for t in reversed(thread) if not t.get("is_brand") and t.get("mail")), None)
    if customer is None:
        raise SendFailed("no customer mail in this conversation to reply to")
    sender = settings.DALLOSH_INGEST.brand_addresses[0]
    subject = customer["mail"].get("subject") or ""
    message = EmailMessage()
    message["From"] = formataddr((config.from_name, sender))
    message["To"] = formataddr((customer["mail"].get("from_name") or "", customer["author"]))
    message["Subject"] = subject if subject.casefold().startswith(("re:", "tr:", "fw:")) else f"Re: {subject}"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{uuid.uuid4().hex}@{sender.rpartition('@')[2]}>"
    if customer["mail"].get("message_id"):
        message["In-Reply-To"] = _angled(customer["mail"]["message_id"])
    if ids:
        message["References"] = " ".join(ids[-REFERENCES_KEPT:])
    message.set_content(text)  # before Content-Language: it clears every Content-* header
    if language := language or customer.get("language"):  # the ticket's, or the mail's before analysis
        message["Content-Language"] = language
    now = datetime.now(UTC)
    OutgoingMail.objects(id=reply_id).update_one(upsert=True, set_on_insert__conversation_id=conversation_id,
                                                 set_on_insert__recipient=customer["author"],
                                                 set_on_insert__message_id=message["Message-ID"],
                                                 set_on_insert__raw=bytes(message),
                                                 set_on_insert__status=OutgoingStatus.PENDING,
                                                 set_on_insert__next_attempt_at=now, set_on_insert__created_at=now)
    queued = OutgoingMail.objects.get(id=reply_id)
    return {"message_id": queued.message_id, "subject": str(message["Subject"]), "to": [customer["author"]],
            "from_name": config.from_name, "outgoing": True}


def send_due(*, now: datetime | None = None) -> int:
    """Send every queued reply whose attempt is due; the number sent."""
    now = now or datetime.now(UTC)
    sent = 0
    due = OutgoingMail.objects(status=OutgoingStatus.PENDING, next_attempt_at__lte=now).only("id").limit(200)
    for mail_id in [mail.id for mail in due]:
        mail = _claim(mail_id, now)
        if mail is None:
            continue  # another sender has it, or it was sent meanwhile
        try:
            _send(mail)
        except (OSError, smtplib.SMTPException, SendFailed) as exc:
            _failed(mail, now, error=f"{type(exc).__name__}: {exc}")
        else:
            OutgoingMail.objects(id=mail.id).update_one(set__status=OutgoingStatus.SENT, set__sent_at=datetime.now(UTC),
                                                        inc__attempts=1, unset__claimed_until=True)
            sent += 1
    return sent


def send_soon() -> None:
    """Ask the housekeeping cluster to send now; with no broker, the minutely schedule will."""
    with contextlib.suppress(Exception):  # the reply is stored: a broker down only delays it
        async_task("ingestion.tasks.send_mail_replies", task_name="send-mail-replies")


def replies_of(conversation_id: str) -> dict[str, OutgoingMail]:
    """The conversation's e-mail replies by reply id, for the ticket page to say where each stands."""
    return {mail.id: mail for mail in OutgoingMail.objects(conversation_id=conversation_id).exclude("raw")}


def _claim(mail_id: str, now: datetime) -> OutgoingMail | None:
    claimed = OutgoingMail.objects(__raw__={
        "_id": mail_id, "status": OutgoingStatus.PENDING, "next_attempt_at": {"$lte": now},
        "$or": [{"claimed_until": None}, {"claimed_until": {"$lt": now}}]}).update_one(set__claimed_until=now + CLAIM)
    return OutgoingMail.objects.get(id=mail_id) if claimed else None


def _failed(mail: OutgoingMail, now: datetime, *, error: str) -> None:
    attempts = mail.attempts + 1
    gave_up = attempts >= settings.DALLOSH_MAIL.send_attempts
    OutgoingMail.objects(id=mail.id).update_one(
        set__attempts=attempts, set__last_error=error[:500], unset__claimed_until=True,
        set__status=OutgoingStatus.FAILED if gave_up else OutgoingStatus.PENDING,
        set__next_attempt_at=now + FIRST_RETRY * 2 ** (attempts - 1))


def _send(mail: OutgoingMail) -> None:
    with _smtp(settings.DALLOSH_MAIL.smtp_url, timeout=settings.DALLOSH_MAIL.timeout_s) as smtp:
        refused = smtp.sendmail(settings.DALLOSH_INGEST.brand_addresses[0], [mail.recipient], mail.raw)
    if refused:
        raise SendFailed(f"refused: {refused}")


def _angled(message_id: str) -> str:
    """A Message-ID as headers write it (the parser stores it bare)."""
    return f"<{message_id.strip().strip('<>')}>"


@contextlib.contextmanager
def _smtp(url: str, *, timeout: float) -> Iterator[smtplib.SMTP]:
    """smtps:// (implicit TLS) or smtp:// (STARTTLS whenever the server offers it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SendFailed("DALLOSH_SMTP_URL must read smtps://user:password@host:465 or smtp://host:587")
    context = ssl.create_default_context()
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname, parts.port or 465, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=timeout)
    with smtp:
        smtp.ehlo()
        if parts.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        yield smtp
