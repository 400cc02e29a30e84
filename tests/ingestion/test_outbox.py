"""Agents' replies to e-mail tickets sent over SMTP (ingestion/outbox.py) to a real SMTP
server on loopback (aiosmtpd): a reply threads under the customer's last mail, a failed send
is retried and shown on the ticket, and nothing is ever sent twice."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from config.embedded import free_port
from ingestion import outbox
from ingestion.models import OutgoingMail, Tweet
from ingestion.services import ingest_mails
from tests.helpers import email_bytes
from tickets.models import Ticket

REPLY = "Bonjour Camille, une intervention est prévue demain matin. Bien à vous."


class Inbox:
    def __init__(self):
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.DALLOSH_MAIL = settings.DALLOSH_MAIL.replace(smtp_url=f"smtp://127.0.0.1:{controller.port}")
    yield inbox
    controller.stop()


@pytest.fixture
def email_ticket(make_user):
    ingest_mails(messages=[email_bytes(message_id="<m1@example.fr>"),
                           email_bytes(message_id="<m2@example.fr>", in_reply_to="<m1@example.fr>",
                                       subject="Re: Panne internet", body="Toujours rien ce soir, aidez-moi.")])
    (ticket,) = Ticket.objects(channel="email")
    client = Client()
    client.force_login(make_user("max", role="manager"))
    return ticket.id, client


def test_a_reply_is_sent_as_a_reply_to_the_customers_last_mail_once(smtp_server, email_ticket):
    ticket_id, client = email_ticket
    page = client.get(f"/tickets/{ticket_id}/").content.decode()
    assert "Send and record" in page
    client.post(f"/tickets/{ticket_id}/reply/", {"text": REPLY})
    assert outbox.send_due() == 1
    ((recipients, sent),) = smtp_server.received
    assert recipients == ["camille.durand@example.fr"]
    assert sent["From"] == "Dallosh Support <support@dallosh.example>"
    assert sent["To"] == "Camille Durand <camille.durand@example.fr>"
    assert sent["Subject"] == "Re: Panne internet"  # never "Re: Re:"
    assert sent["In-Reply-To"] == "<m2@example.fr>" and sent["References"] == "<m1@example.fr> <m2@example.fr>"
    assert sent["Content-Language"] == "fr" and sent.get_content().strip() == REPLY
    reply = Tweet.objects.get(id=Ticket.objects.get(id=ticket_id).tweet_ids[-1])
    assert reply.is_brand and reply.mail["message_id"] == sent["Message-ID"]
    assert reply.author == "support@dallosh.example"
    assert Ticket.objects.get(id=ticket_id).status == "waiting_customer"
    assert outbox.send_due(now=datetime.now(UTC) + timedelta(days=1)) == 0 and len(smtp_server.received) == 1
    page = client.get(f"/tickets/{ticket_id}/").content.decode()
    assert REPLY.replace("'", "&#x27;") in page and "sending-sent" in page


def test_a_failed_send_is_retried_and_shown_never_lost_or_doubled(smtp_server, email_ticket, settings):
    ticket_id, client = email_ticket
    working = settings.DALLOSH_MAIL
    settings.DALLOSH_MAIL = working.replace(smtp_url=f"smtp://127.0.0.1:{free_port()}")  # nothing listens
    client.post(f"/tickets/{ticket_id}/reply/", {"text": REPLY})
    start = datetime.now(UTC)
    assert outbox.send_due(now=start) == 0
    page = client.get(f"/tickets/{ticket_id}/").content.decode()
    assert "Not sent yet (ConnectionRefusedError" in page and "retrying at" in page
    settings.DALLOSH_MAIL = working  # the server is back
    assert outbox.send_due(now=start) == 0  # not before the retry is due
    assert outbox.send_due(now=start + timedelta(minutes=2)) == 1
    assert outbox.send_due(now=start + timedelta(hours=5)) == 0
    assert len(smtp_server.received) == 1
    assert OutgoingMail.objects.get().attempts == 2


def test_a_reply_that_never_gets_through_is_shown_as_not_sent(email_ticket, settings):
    ticket_id, client = email_ticket
    settings.DALLOSH_MAIL = settings.DALLOSH_MAIL.replace(smtp_url=f"smtp://127.0.0.1:{free_port()}",
                                                          send_attempts=2)
    client.post(f"/tickets/{ticket_id}/reply/", {"text": REPLY})
    start = datetime.now(UTC)
    outbox.send_due(now=start)
    outbox.send_due(now=start + timedelta(minutes=2))
    assert outbox.send_due(now=start + timedelta(days=1)) == 0  # given up: no longer retried
    assert "Not sent after 2 attempts" in client.get(f"/tickets/{ticket_id}/").content.decode()


def test_an_email_reply_may_be_long_a_tweet_reply_may_not(email_ticket, analysed, settings):
    ticket_id, client = email_ticket
    settings.DALLOSH_MAIL = settings.DALLOSH_MAIL.replace(smtp_url="")  # recorded only, as for tweets
    long_reply = "Bonjour, voici le détail de votre facture. " * 20
    assert client.post(f"/tickets/{ticket_id}/reply/", {"text": long_reply}).status_code == 302
    assert OutgoingMail.objects.count() == 0
    tweet_ticket = analysed("my fibre is down")[0]
    refused = client.post(f"/tickets/{tweet_ticket}/reply/", {"text": long_reply}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 409 and "a tweet holds 280" in refused.json()["error"]
