"""E-mails read as the pipeline reads tweets: one RFC 822 message becomes one message of the
"email" channel, in the columns of ingestion/formats.EmailFormat.

Parsed with the standard library's `email` (policy `default`: charsets and encoded words
decoded), text/plain preferred, HTML turned into text by inscriptis (never rendered as
HTML in the back-office), the quoted history and signature stripped by mail-parser-reply
(French and English) so the model reads the customer's new words only. Attachments are kept
as metadata (name, type, size, sha256), never opened. Auto-replies, bounces and mailing
lists are marked automated: stored, shown, never a ticket of their own.
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import hashlib
import json
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from inscriptis import get_text
from mailparser_reply import EmailReplyParser

from ingestion.reader import RawRecord

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a larger message is quarantined (a document holds 16 MB)
MAX_TEXT_CHARS = 20_000  # what the model and the page read of one mail
_REPLIES = EmailReplyParser(languages=["fr", "en"])
# Structure the parser had to guess at: the parts (and so the text) cannot be trusted.
_BROKEN_MIME = (email.errors.NoBoundaryInMultipartDefect, email.errors.StartBoundaryNotFoundDefect,
                email.errors.CloseBoundaryNotFoundDefect, email.errors.MultipartInvariantViolationDefect)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
# Out-of-office and delivery reports, by subject, where the headers say nothing.
_AUTOMATED_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|r[ée]ponse automatique|absence|out of (the )?office|"
    r"undeliverable|delivery status notification|mail delivery failed|non remis)", re.IGNORECASE)


# Why an automated mail is no request, in the reader's words.
AUTOMATED_KINDS = {"auto-reply": gettext_lazy("auto-reply"), "bounce": gettext_lazy("bounce"),
                   "list": gettext_lazy("mailing list")}


class MailRefused(ValueError):
    """A message that cannot be read as an e-mail; its text says why (quarantine reason)."""


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ParsedMail:
    """What Dallosh keeps of one e-mail besides its raw bytes."""

    key: str  # stable id: from the Message-ID, else the raw bytes' hash
    message_id: str | None
    parent_key: str | None  # the message it answers (In-Reply-To, else the last of References)
    sender: str  # the address, lower-cased: the customer
    sender_name: str
    to: list[str]
    date: datetime
    subject: str
    text: str  # the new words: quoted history and signature removed
    body: str  # the whole text part, as written
    automated: str | None  # why it is no request of a person (auto-reply, bounce, list), or None
    attachments: list[Attachment] = field(default_factory=list)

    def as_metadata(self) -> dict:
        """The mail's own fields as stored beside the message (`mail` on the tweets collection)."""
        return {"message_id": self.message_id, "subject": self.subject, "from_name": self.sender_name,
                "to": self.to, "body": self.body, "automated": self.automated,
                "attachments": [vars(a) for a in self.attachments]}


def key_of(message_id: str) -> str:
    """The stable key of a Message-ID (what a reply's In-Reply-To names)."""
    return hashlib.sha256(message_id.strip().strip("<>").lower().encode()).hexdigest()[:32]


def parse(raw: bytes, *, received_at: datetime | None = None) -> ParsedMail:
    """One message, or MailRefused with the reason."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MailRefused(_("message over %(limit)d MB") % {"limit": MAX_MESSAGE_BYTES // 1024 // 1024})
    message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
    sender_name, sender = _address(message, "from")
    if not sender:
        raise MailRefused(_("no sender address (From)"))
    broken = [type(defect).__name__ for part in message.walk() for defect in part.defects
              if isinstance(defect, _BROKEN_MIME)]
    if broken:
        raise MailRefused(_("malformed MIME: %(defects)s") % {"defects": ", ".join(sorted(set(broken)))})
    body = _body_text(message)
    message_id = _first_id(message.get("message-id"))
    return ParsedMail(
        key=key_of(message_id) if message_id else hashlib.sha256(raw).hexdigest()[:32],
        message_id=message_id, parent_key=_parent_key(message), sender=sender, sender_name=sender_name,
        to=[address.lower() for _name, address in getaddresses(message.get_all("to", []) + message.get_all("cc", []))
            if address],
        date=_date(message, received_at), subject=_header(message, "subject")[:500], body=body[:MAX_TEXT_CHARS],
        text=new_words(body), automated=_automated(message),
        attachments=list(_attachments(message)))


def new_words(body: str) -> str:
    """What the customer wrote in this mail: the quoted history and the signature left out."""
    return (_REPLIES.parse_reply(body) or body).strip()[:MAX_TEXT_CHARS]


def mail_record(*, row: int, raw: bytes, brand_addresses: set[str]) -> RawRecord:
    """One received message as the pipeline's record: its raw bytes kept whatever happens,
    and either the fields of EmailFormat or the reason it is quarantined."""
    preview = raw[:2000].decode("utf-8", errors="replace")  # what the quarantine page shows
    try:
        parsed = parse(raw)
    except MailRefused as refused:
        return RawRecord(row, row + 1, preview, None, error=str(refused), raw_bytes=raw)
    fields = [parsed.key, parsed.sender, _flag(parsed.sender in brand_addresses), parsed.date.isoformat(),
              parsed.text, parsed.parent_key or "", _flag(parsed.automated is not None),
              json.dumps(parsed.as_metadata(), ensure_ascii=False)]
    return RawRecord(row, row + 1, preview, fields, raw_bytes=raw)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def split_mbox(path: Path) -> Iterator[bytes]:
    """The messages of an mbox file, each as its raw bytes."""
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


_REPLY_PREFIXES = re.compile(r"^\s*(?:(?:re|tr|fw|fwd|aw|réf|ref)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def subject_of_thread(subject: str) -> str:
    """A subject without its "Re:" / "TR:" prefixes, as the thread's first mail had it."""
    return " ".join(_REPLY_PREFIXES.sub("", subject).split())


def subject_key(subject: str | None) -> str:
    """A subject as a thread keeps it: "Re: TR: Panne  Internet" and "panne internet" are one."""
    return subject_of_thread(subject or "").casefold()


def _header(message: EmailMessage, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "")).split())
    except (ValueError, TypeError, IndexError):  # an encoded word the library cannot decode
        return ""


def _address(message: EmailMessage, name: str) -> tuple[str, str]:
    display, address = parseaddr(_header(message, name))
    return display, address.strip().lower() if "@" in address else ""


def _first_id(value: object) -> str | None:
    found = _MESSAGE_ID.findall(str(value or ""))
    return found[0] if found else None


def _parent_key(message: EmailMessage) -> str | None:
    parent = _first_id(message.get("in-reply-to"))
    if parent is None:
        references = _MESSAGE_ID.findall(str(message.get("references") or ""))
        parent = references[-1] if references else None
    return key_of(parent) if parent else None


def _date(message: EmailMessage, received_at: datetime | None) -> datetime:
    """When it was written (Date), in UTC; a missing or unreadable date is when it came."""
    try:
        written = parsedate_to_datetime(str(message.get("date")))
    except (TypeError, ValueError, IndexError):
        written = None
    if written is None:
        return received_at or datetime.now(UTC)
    return written.astimezone(UTC) if written.tzinfo else written.replace(tzinfo=UTC)


def _body_text(message: EmailMessage) -> str:
    """The text part, else the HTML part as text, else nothing."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = get_text(content)
    return "\n".join(line.rstrip() for line in content.replace("\r\n", "\n").split("\n")).strip()


def _attachments(message: EmailMessage) -> Iterator[Attachment]:
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True) or b""
        yield Attachment(name=part.get_filename() or "", content_type=part.get_content_type(), size=len(payload),
                         sha256=hashlib.sha256(payload).hexdigest())


def _automated(message: EmailMessage) -> str | None:
    """Why no person needs answering: an auto-reply, a bounce, a mailing list; else None."""
    auto_submitted = _header(message, "auto-submitted").lower()
    if (auto_submitted and auto_submitted != "no") or message.get("x-autoreply") or message.get("x-autorespond"):
        return "auto-reply"
    if message.get_content_type() == "multipart/report" or _address(message, "from")[1].startswith(
            ("mailer-daemon@", "postmaster@")):
        return "bounce"
    if message.get("list-id") or _header(message, "precedence").lower() in {"list", "bulk", "junk"}:
        return "list"
    if _AUTOMATED_SUBJECT.match(_header(message, "subject")):
        return "auto-reply"
    return None
