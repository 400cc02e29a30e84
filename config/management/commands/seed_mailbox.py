"""Fill the demo's support mailbox (DALLOSH_IMAP_URL) once: a few telecom mails written for
the demo, in French and English, and the first support e-mails of
../shared/data/support_emails_sample.csv (synthetic, CC BY-NC 4.0) when it is there. The
housekeeping cluster then reads them as it reads any mailbox. A mailbox that already holds
mail is left as it is."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ingestion.mailbox import Mailbox, MailboxError, session

SAMPLE_MAILS = 40
# Written for the demo: what an operator's support mailbox receives.
DEMO_MAILS = [
    ("Léa Martin <lea.martin@example.fr>", "Plus d'internet depuis hier soir",
     "Bonjour,\n\nMa box est rouge depuis hier 21h, plus d'internet ni de télévision à Lyon 3e. "
     "J'ai redémarré deux fois. Je télétravaille demain, merci de faire vite.\n\nLéa Martin"),
    ("Tom Baker <tom.baker@example.co.uk>", "Charged twice for November",
     "Hello,\n\nMy November invoice was taken twice from my account (2 x 39.99 EUR). "
     "Please refund the second payment.\n\nRegards,\nTom"),
    ("Karim Haddad <karim.haddad@example.fr>", "Forfait à l'étranger",
     "Bonjour,\n\nJe pars au Maroc la semaine prochaine : mon forfait couvre-t-il l'itinérance ? "
     "Sinon quelle option me conseillez-vous ?\n\nMerci,\nKarim"),
    ("Sophie Dubois <sophie.dubois@example.fr>", "Résiliation",
     "Bonjour,\n\nSuite à mon déménagement, je souhaite résilier ma ligne fixe au 31 décembre. "
     "Comment renvoyer la box ?\n\nCordialement,\nSophie Dubois"),
    ("Ana Costa <ana.costa@example.pt>", "No signal at home since the storm",
     "Hi,\n\nSince Sunday's storm I have no mobile signal at all in my street in Nantes, "
     "and my neighbours neither. Is there an outage?\n\nAna"),
    ("Paul Girard <paul.girard@example.fr>", "Carte SIM non activée",
     "Bonjour,\n\nJ'ai reçu ma nouvelle carte SIM il y a trois jours mais elle n'est toujours pas activée. "
     "Pouvez-vous vérifier ?\n\nPaul"),
]


class Command(BaseCommand):
    help = "Fill the demo's support mailbox once (telecom mails written for the demo, and support e-mail samples)."

    def handle(self, *args, **options) -> None:
        url = settings.DALLOSH_MAIL.imap_url
        if not url:
            raise CommandError("no mailbox: DALLOSH_IMAP_URL is not set")
        try:
            folder = Mailbox.from_url(url).folder
            with session(url=url) as imap:
                held = int(imap.select(folder, readonly=True)[1][0])
                if held:
                    self.stdout.write(f"mailbox: already holds {held} message(s), left as it is")
                    return
                mails = _demo_mails()
                for raw in mails:
                    imap.append(folder, None, None, raw)
        except MailboxError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"mailbox: {len(mails)} e-mails delivered; the housekeeping cluster reads them within a "
                          "minute")


def _demo_mails() -> list[bytes]:
    rows = [(f"Client {n} <client{n}@example.com>", row["subject"], row["body"]) for n, row in enumerate(_sample())]
    now = datetime.now(UTC)
    mails = []
    for n, (sender, subject, body) in enumerate([*DEMO_MAILS, *rows]):
        message = EmailMessage()
        message["From"] = sender
        message["To"] = settings.DALLOSH_INGEST.brand_addresses[0]
        message["Subject"] = subject
        message["Date"] = format_datetime(now - timedelta(minutes=7 * n + 3))
        message["Message-ID"] = f"<demo-{n}@dallosh.example>"
        message.set_content(body)
        mails.append(bytes(message))
    return mails


def _sample() -> list[dict]:
    path = settings.DALLOSH_SITE.shared_data / "support_emails_sample.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [row for _, row in zip(range(SAMPLE_MAILS), csv.DictReader(handle), strict=False)]
