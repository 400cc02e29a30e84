"""The tests' factories: tweets as the stream API takes them, rows of test CSVs in the two
shared formats, e-mails as a mail client sends them, a live-writes harness, and a scripted fast tier."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from bench.llm_servers import expected_labels
from dallosh.vocabulary import LABEL_FIELDS, Analysis

TWITTER_TIME = "%a %b %d %H:%M:%S +0000 %Y"


def twcs_record(tweet_id, text: str, *, author: str | None = None, minute: int = 0, at=None, reply_to=None,
                inbound: bool = True) -> dict:
    """One tweet in the twcs shape, as the stream API and ingest_records take it: a customer
    (author "customer<id>" unless named) writing at 10:<minute> on 2017-10-31, or at `at`."""
    created = at.strftime(TWITTER_TIME) if at else f"Tue Oct 31 10:{minute:02d}:00 +0000 2017"
    return {"tweet_id": str(tweet_id), "author_id": author or f"customer{tweet_id}", "inbound": inbound,
            "text": text, "created_at": created, "response_tweet_id": "", "in_response_to_tweet_id": reply_to}


TWCS_HEADER = ",tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"
FR_HEADER = "tweet_id,author,text,date,url\n"


def twcs_row(index, tweet_id, author, inbound, text, *, responses="", reply_to="", minute=0, created=None):
    created = created or f"Tue Oct 31 10:{minute:02d}:00 +0000 2017"
    return f'{index},{tweet_id},{author},{inbound},{created},"{text}","{responses}",{reply_to}\n'


def twcs_csv(*rows):
    return TWCS_HEADER + "".join(rows)


def repeat_while(work: Callable[[], None], *, repeat: Callable[[], object], timeout: float = 120) -> int:
    """Run `work` on a thread of its own (agents acting) and `repeat` over and over here
    until it is done, the last run starting while it still works; re-raises what `work`
    raised. Returns how many times `repeat` ran."""
    done, failures = threading.Event(), []

    def working() -> None:
        try:
            work()
        except Exception as exc:
            failures.append(exc)
        finally:
            done.set()

    worker = threading.Thread(target=working)
    worker.start()
    runs = 0
    while not done.is_set():
        repeat()
        runs += 1
    worker.join(timeout=timeout)
    if failures:
        raise failures[0]
    return runs


SURE = 0.97  # how sure the scripted fast tier is of a field it does not doubt
THRESHOLD = 0.8  # each field's threshold, for the scripted fast tier


@dataclass(frozen=True)
class ScriptedPrediction:
    """What analysis.services.label_tickets reads of a fast-tier prediction."""

    labels: dict
    confidence: dict[str, float]

    @property
    def unsure_fields(self) -> list[str]:
        return [field for field, sure in self.confidence.items() if sure < THRESHOLD]

    def analysis(self) -> Analysis:
        return Analysis(**self.labels)


class ScriptedHeads:
    """The fast tier as a script, as the LLM is (bench.llm_servers): each text gets the
    scripted model's keyword labels (expected_labels) unless `said` gives others for it, sure
    of every field at SURE unless `doubts` gives a field a probability below THRESHOLD. So a
    test knows which tickets the machine doubts, and where the tiers disagree, without
    asking either (and without loading the embedding model)."""

    name = "scripted-heads-v1"

    def __init__(self, *, doubts: dict[str, dict[str, float]], said: dict[str, dict]) -> None:
        self.doubts, self.said = doubts, said

    def predict(self, texts: list[str]) -> list[ScriptedPrediction]:
        def sure(text: str) -> dict[str, float]:
            return {field: SURE for field in LABEL_FIELDS} | self.doubts.get(text, {})

        return [ScriptedPrediction(labels={**expected_labels(text), **self.said.get(text, {})}, confidence=sure(text))
                for text in texts]


CUSTOMER = "Camille Durand <camille.durand@example.fr>"
SUPPORT = "Support <support@dallosh.example>"


def email_bytes(*, body: str | None = "Bonjour, plus d'internet depuis ce matin.", subject: str = "Panne internet",
            sender: str = CUSTOMER, message_id: str | None = "<m1@example.fr>", in_reply_to: str | None = None,
            date: str = "Tue, 01 Dec 2026 09:15:00 +0100", html: str | None = None, headers: dict | None = None,
            attachments: list[tuple[str, str, bytes]] = ()) -> bytes:
    """An e-mail as a mail client sends it (RFC 822 bytes), from a customer to the support by default."""
    mail_message = EmailMessage()
    mail_message["From"] = sender
    mail_message["To"] = SUPPORT
    mail_message["Subject"] = subject
    mail_message["Date"] = date
    if message_id:
        mail_message["Message-ID"] = message_id
    if in_reply_to:
        mail_message["In-Reply-To"] = in_reply_to
        mail_message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        mail_message[name] = value
    if body is not None:
        mail_message.set_content(body)
    if html is not None:
        if body is None:
            mail_message.set_content(html, subtype="html")
        else:
            mail_message.add_alternative(html, subtype="html")
    for filename, content_type, payload in attachments:
        maintype, subtype = content_type.split("/")
        mail_message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(mail_message)
