"""E-mails read as the pipeline reads tweets: what the model reads is the customer's new
words, a thread is one conversation, automated mails are no request, and what cannot be
read is quarantined with its reason, the raw message kept unchanged."""

from __future__ import annotations

import hashlib
import io
import mailbox
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from ingestion import mail
from ingestion.models import IngestJob, QuarantinedRow, RawRow, Tweet
from ingestion.services import ingest_mails
from tests.helpers import CUSTOMER, SUPPORT
from tests.helpers import email_bytes as message
from tickets.models import Ticket

MAIL_API = "/api/v1/ingest/mail"


@pytest.mark.no_servers
def test_a_french_mail_is_read_with_its_encoded_subject_sender_and_date():
    parsed = mail.parse(message(subject="Facture erronée — prélèvement doublé",
                                body="Bonjour,\nJ'ai été prélevée deux fois ce mois-ci.\n\nCordialement,\nCamille"))
    assert parsed.subject == "Facture erronée — prélèvement doublé"
    assert (parsed.sender, parsed.sender_name) == ("camille.durand@example.fr", "Camille Durand")
    assert parsed.date == datetime(2026, 12, 1, 8, 15, tzinfo=UTC)
    assert "prélevée deux fois" in parsed.text
    assert parsed.to == ["support@dallosh.example"]
    assert parsed.automated is None


@pytest.mark.no_servers
def test_the_quoted_history_is_not_what_the_model_reads():
    body = ("Still nothing, the router light is red.\n\n"
            "On Tue, Dec 1, 2026 at 10:00 AM Support <support@dallosh.example> wrote:\n"
            "> Could you restart your router?\n> Regards\n")
    parsed = mail.parse(message(body=body, in_reply_to="<m1@example.fr>", message_id="<m3@example.fr>"))
    assert parsed.text == "Still nothing, the router light is red."
    assert "restart your router" in parsed.body
    assert parsed.parent_key == mail.key_of("<m1@example.fr>")


@pytest.mark.no_servers
def test_an_html_only_mail_is_read_as_text_never_as_html():
    parsed = mail.parse(message(body=None, html="<html><body><p>My <b>bill</b> is wrong</p>"
                                                "<script>alert(1)</script></body></html>"))
    assert "My bill is wrong" in parsed.text
    assert "<" not in parsed.text and "alert" not in parsed.text


@pytest.mark.no_servers
def test_attachments_are_kept_as_metadata_only():
    invoice = b"%PDF-1.4 invoice 2026-11"
    parsed = mail.parse(message(body="See the invoice attached.", attachments=[
        ("facture-novembre.pdf", "application/pdf", invoice)]))
    (attachment,) = parsed.attachments
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "facture-novembre.pdf", "application/pdf", len(invoice))
    assert attachment.sha256 == hashlib.sha256(invoice).hexdigest()
    assert parsed.text == "See the invoice attached."


@pytest.mark.no_servers
@pytest.mark.parametrize("headers, subject, sender, kind", [
    ({"Auto-Submitted": "auto-replied"}, "Re: Panne", CUSTOMER, "auto-reply"),
    ({}, "Réponse automatique : absent jusqu'au 4 janvier", CUSTOMER, "auto-reply"),
    ({"X-Autoreply": "yes"}, "Out of office", CUSTOMER, "auto-reply"),
    ({}, "Undelivered Mail Returned to Sender", "MAILER-DAEMON@mx.example.fr", "bounce"),
    ({"List-Id": "<offers.example.com>"}, "Our new offers", "news@example.com", "list"),
])
def test_automated_mails_are_marked(headers, subject, sender, kind):
    assert mail.parse(message(headers=headers, subject=subject, sender=sender)).automated == kind


@pytest.mark.no_servers
def test_unreadable_mails_are_refused_with_their_reason():
    broken = (b"From: a@example.fr\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n")
    with pytest.raises(mail.MailRefused, match="malformed MIME"):
        mail.parse(broken)
    with pytest.raises(mail.MailRefused, match="no sender"):
        mail.parse(b"just some bytes that are no e-mail")
    with pytest.raises(mail.MailRefused, match="over 10 MB"):
        mail.parse(message(body="x" * (mail.MAX_MESSAGE_BYTES + 1)))


def test_a_thread_of_three_is_one_ticket_that_reads_the_customers_new_words():
    first = message(body="Bonjour, plus d'internet depuis ce matin à Lyon.")
    reply = message(sender=SUPPORT, subject="Re: Panne internet", message_id="<r1@dallosh.example>",
                    in_reply_to="<m1@example.fr>", date="Tue, 01 Dec 2026 10:00:00 +0100",
                    body="Bonjour, pouvez-vous redémarrer votre box ?\n\nLe support")
    again = message(subject="Re: Panne internet", message_id="<m2@example.fr>", in_reply_to="<r1@dallosh.example>",
                    date="Tue, 01 Dec 2026 11:00:00 +0100",
                    body="Toujours rien après redémarrage.\n\nLe mar. 1 déc. 2026 à 10:00, Support "
                         "<support@dallosh.example> a écrit :\n> Bonjour, pouvez-vous redémarrer votre box ?\n")
    job = ingest_mails(messages=[again, first, reply], user="cli", origin="thread.mbox")
    assert job.counters.quarantined == 0
    (ticket,) = Ticket.objects(channel="email")
    assert ticket.subject == "Panne internet"
    assert ticket.customer == "camille.durand@example.fr"
    assert (ticket.customer_tweet_count, ticket.brand_reply_count) == (2, 1)
    texts = sorted(t.clean_text for t in Tweet.objects(conversation_id=ticket.id, is_brand=False))
    assert texts == ["Bonjour, plus d'internet depuis ce matin à Lyon.", "Toujours rien après redémarrage."]
    assert ticket.language == "fr"


def test_a_mail_naming_no_parent_joins_its_senders_recent_mail_on_the_same_subject():
    first = message(message_id="<s1@example.fr>", subject="Panne internet", date="Tue, 01 Dec 2026 09:00:00 +0100")
    later = message(message_id="<s2@example.fr>", subject="RE: panne  Internet", date="Wed, 02 Dec 2026 18:00:00 +0100",
                    body="Toujours pas de connexion ce soir.")  # a client that dropped In-Reply-To
    other = message(message_id="<o1@example.com>", sender="Sam Reed <sam@example.com>", subject="Panne internet",
                    date="Wed, 02 Dec 2026 19:00:00 +0100", body="No internet at my place either.")
    ingest_mails(messages=[later, first, other])
    weeks_later = message(message_id="<s3@example.fr>", subject="Panne internet",
                          date="Mon, 21 Dec 2026 09:00:00 +0100", body="Encore une coupure depuis ce matin.")
    next_day = message(message_id="<s4@example.fr>", subject="Re: Panne internet",
                       date="Thu, 03 Dec 2026 08:00:00 +0100", body="Et ce matin non plus.")
    ingest_mails(messages=[weeks_later, next_day])  # a later batch finds the stored mail
    camille = Ticket.objects(channel="email", customer="camille.durand@example.fr").order_by("created_at")
    assert [t.customer_tweet_count for t in camille] == [3, 1]  # 1, 2 and 3 December; then 21 December apart
    assert Ticket.objects.get(customer="sam@example.com").customer_tweet_count == 1  # the same subject, another sender


def test_a_mail_fetched_twice_is_stored_once_and_its_raw_form_is_kept_unchanged():
    raw = message(subject="=?utf-8?q?Probl=C3=A8me_de_r=C3=A9seau?=", body="Pas de réseau 4G à Nantes.")
    ingest_mails(messages=[raw], user="cli")
    ingest_mails(messages=[raw, message(message_id="<other@example.fr>", body="Et la fibre aussi.")], user="cli")
    assert Tweet.objects(channel="email").count() == 2
    assert RawRow.objects(raw_bytes=raw).count() == 1
    assert Ticket.objects(channel="email").count() == 2
    assert Tweet.objects(channel="email", mail__subject="Problème de réseau").count() == 1


def test_automated_and_unreadable_mails_make_no_ticket_and_lose_nothing():
    out_of_office = message(message_id="<ooo@example.fr>", subject="Absence du bureau",
                            headers={"Auto-Submitted": "auto-replied"}, body="Je suis absente.")
    broken = (b"From: a@example.fr\r\nMessage-ID: <b@example.fr>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n")
    job = ingest_mails(messages=[out_of_office, broken], user="cli")
    assert job.counters.quarantined == 1
    assert Ticket.objects(channel="email").count() == 0
    assert Tweet.objects(is_automated=True).count() == 1
    (quarantined,) = QuarantinedRow.objects(job=job.id)
    assert "malformed MIME" in quarantined.reason
    assert RawRow.objects(job=job.id).count() == 2
    assert IngestJob.objects.get(id=job.id).status == "completed"



def test_the_api_takes_raw_rfc822_and_an_mbox_and_a_retry_stores_nothing_twice(ingest_client, tmp_path):
    raw = message(body="Ma ligne fixe ne fonctionne plus.")
    answer = ingest_client.post(MAIL_API, data=raw, content_type="message/rfc822")
    assert answer.status_code == 201, answer.content
    assert answer.json()["counters"]["tickets_created"] == 1
    assert ingest_client.post(MAIL_API, data=raw, content_type="message/rfc822").json()["id"] == answer.json()["id"]
    box = mailbox.mbox(tmp_path / "two.mbox")
    box.add(message(message_id="<a@example.fr>", subject="Facture", body="Facture trop élevée ce mois-ci."))
    box.add(message(message_id="<b@example.fr>", subject="Résiliation", body="Je veux résilier mon abonnement."))
    box.close()
    answer = ingest_client.post(MAIL_API, data=(tmp_path / "two.mbox").read_bytes(), content_type="application/mbox")
    assert answer.status_code == 201 and answer.json()["counters"]["tickets_created"] == 2
    assert Ticket.objects(channel="email").count() == 3


def test_the_api_refuses_what_is_no_mail_with_a_reason(ingest_client):
    empty = ingest_client.post(MAIL_API, data=b"", content_type="message/rfc822")
    assert empty.status_code == 400 and empty.json()["error"]
    assert ingest_client.post(MAIL_API, data=b"{}", content_type="application/json").status_code == 415


def test_the_command_ingests_eml_and_mbox_files(tmp_path):
    (tmp_path / "one.eml").write_bytes(message(message_id="<eml@example.fr>", body="No signal since Monday."))
    box = mailbox.mbox(tmp_path / "box.mbox")
    box.add(message(message_id="<x@example.fr>", subject="Roaming", body="Roaming charges I did not expect."))
    box.add(b"garbage without headers")
    box.close()
    out = io.StringIO()
    call_command("ingest_mail", str(tmp_path / "one.eml"), str(tmp_path / "box.mbox"), stdout=out)
    assert "1 quarantined" in out.getvalue()
    assert Ticket.objects(channel="email").count() == 2


def test_an_email_ticket_page_shows_the_mails_with_their_headers_and_attachments(client, make_user):
    ingest_mails(messages=[message(subject="Facture de novembre", body="Le montant est faux.",
                                   attachments=[("facture.pdf", "application/pdf", b"%PDF")])])
    (ticket,) = Ticket.objects(channel="email")
    client.force_login(make_user("max", role="manager"))
    page = client.get(f"/tickets/{ticket.id}/").content.decode()
    assert "Facture de novembre" in page and "Le montant est faux." in page
    assert "Camille Durand &lt;camille.durand@example.fr&gt;" in page
    assert "facture.pdf" in page and "application/pdf" in page
