"""French and English: every string the code marks for translation has a French one, and the
pages, the login page and the JavaScript catalog answer in the language the browser asks for
(English for a client that names none, e.g. an API script)."""

import shutil
import subprocess

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from tickets.templatetags.tickets_extras import label

# What makemessages must not read (the --ignore list of the commands that update locale/).
IGNORED = [".venv", "var", "staticfiles", "bench", "tests", "shared"]
DOMAINS = {"django": IGNORED, "djangojs": [*IGNORED, "static/vendor"]}


def _catalogs_as_the_code_marks_them(tmp_path, monkeypatch) -> dict:
    """The French catalogs after makemessages reads the code again, written into a copy of
    locale/ so the committed files stay as they are: a string marked since the last
    translation shows up there untranslated. makemessages writes into the `locale` folder
    beside the code it reads, so it reads the code through a mirror of links next to the copy."""
    mirror = tmp_path / "project"
    mirror.mkdir()
    for entry in settings.BASE_DIR.iterdir():
        if entry.name != "locale":
            (mirror / entry.name).symlink_to(entry)
    shutil.copytree(settings.BASE_DIR / "locale", mirror / "locale")
    monkeypatch.chdir(mirror)
    with override_settings(LOCALE_PATHS=[mirror / "locale"]):
        for domain, ignored in DOMAINS.items():
            call_command("makemessages", locale=["fr"], domain=domain, ignore_patterns=ignored, symlinks=True,
                         verbosity=0)
    return {domain: mirror / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po" for domain in DOMAINS}


def _entries(po_file, *flags: str) -> list[str]:
    """The msgids of the entries msgattrib selects (e.g. --untranslated, --only-fuzzy)."""
    selected = subprocess.run(["msgattrib", "--no-obsolete", "--no-wrap", *flags, str(po_file)],
                              capture_output=True, text=True, check=True).stdout
    return [line for line in selected.splitlines() if line.startswith("msgid ") and line != 'msgid ""']


@pytest.mark.no_servers
def test_every_string_marked_for_translation_has_a_french_one(tmp_path, monkeypatch):
    for domain, po_file in _catalogs_as_the_code_marks_them(tmp_path, monkeypatch).items():
        assert _entries(po_file, "--untranslated") == [], f"{domain}: strings without a French translation"
        assert _entries(po_file, "--only-fuzzy") == [], f"{domain}: fuzzy (unchecked) translations"


@pytest.mark.no_servers
def test_the_committed_translations_keep_every_placeholder():
    """msgfmt --check: the same %(name)s placeholders in French, plural forms complete."""
    for domain in DOMAINS:
        po_file = settings.BASE_DIR / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po"
        checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po_file)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


@pytest.mark.no_servers
def test_vocabulary_values_read_in_the_readers_language():
    with translation.override("fr"):
        assert [label(value) for value in ("network", "customer_service", "high", "tech")] == [
            "réseau", "service client", "haute", "technique"]
        assert label("not_a_value") == "not a value"  # outside the vocabulary: as it is
    with translation.override("en"):
        assert label("customer_service") == "customer service"


@pytest.mark.django_db
def test_the_queue_answers_in_the_browsers_language(client, make_user, analysed):
    analysed("internet down")
    client.force_login(make_user("ana", "tech"))
    french = client.get("/queues/tech/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    assert '<html lang="fr">' in french
    assert all(words in french for words in ("Prendre en charge", "Urgence", "File Technique", "réseau"))
    english = client.get("/queues/tech/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").content.decode()
    assert '<html lang="en">' in english and "Claim" in english and "Prendre en charge" not in english
    assert '<html lang="en">' in client.get("/queues/tech/").content.decode()  # no language asked: English


@pytest.mark.django_db
def test_the_login_page_follows_the_browser_then_the_switch(client):
    french = client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in french and "Se connecter" in french and "Mot de passe" in french
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english and "Log in" in english and "Password" in english
    client.post("/i18n/setlang/", {"language": "fr", "next": "/login/"})  # the header's switch
    assert "Se connecter" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.django_db
def test_the_javascript_catalog_translates_the_live_pages_strings(client):
    french = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '"Draft by %(provider)s": "Brouillon de %(provider)s"' in french
    assert "Brouillon de" not in client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
