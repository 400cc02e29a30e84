"""The throttled login (dallosh/login.py): failures for one account, however its name is
typed, or from one address (4 accounts' worth: an office behind one NAT) lock logging in
for the rest of the window, with a message in the reader's language; and the login only
ever sends people on to pages of this site. The account lockout itself, in English, is
tests/dallosh/test_tokens.py's test_repeated_failed_logins_lock_the_account_with_a_clear_message."""

import html
import time

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

LOCKED_EN = "Too many failed logins: logging in is locked for up to 15 minutes."
LOCKED_FR = ("Trop de connexions échouées : la connexion est bloquée pour 15 minutes au plus. Patientez, ou "
             "demandez à un administrateur de réinitialiser votre mot de passe.")


@pytest.fixture
def lockout(settings):
    """Two failures lock an account (eight an address), in a 15-minute window the test does
    not straddle."""
    settings.DALLOSH_ACCESS = settings.DALLOSH_ACCESS.replace(login_failures=2, login_window_minutes=15)
    if time.time() % 900 > 890:
        time.sleep(900 - time.time() % 900 + 1)


def log_in(client: Client, username: str, password: str = "password"):
    return client.post("/login/", {"username": username, "password": password})


def test_failures_count_for_the_account_however_its_name_is_typed(make_user, lockout):
    make_user("ana", "tech")
    for spelling in ("ANA", " Ana "):
        assert log_in(Client(), spelling, "guess").status_code == 200
    locked = log_in(Client(), "ana")
    assert locked.status_code == 200 and LOCKED_EN in locked.content.decode()


def test_an_address_failing_for_many_accounts_is_locked_for_every_account(make_user, lockout):
    make_user("ana", "tech")
    office = Client(REMOTE_ADDR="203.0.113.7")
    for n in range(8):  # 4 accounts' worth of failures, never twice the same account
        assert log_in(office, f"guess{n}", "guess").status_code == 200
    locked = log_in(office, "ana")  # ana never failed
    assert locked.status_code == 200 and LOCKED_EN in locked.content.decode()
    assert log_in(Client(REMOTE_ADDR="198.51.100.9"), "ana").status_code == 302  # from elsewhere she may


def test_a_good_password_counts_no_failure(make_user, lockout):
    make_user("ana", "tech")
    for _ in range(3):
        assert log_in(Client(), "ana").status_code == 302
    assert log_in(Client(), "ana", "guess").status_code == 200
    assert log_in(Client(), "ana").status_code == 302  # one failure: not locked yet


def test_the_lockout_is_explained_in_french_to_a_french_reader(make_user, lockout):
    make_user("ana", "tech")
    french = Client(HTTP_ACCEPT_LANGUAGE="fr")
    for _ in range(2):
        assert "Nom d'utilisateur ou mot de passe incorrect." in html.unescape(
            log_in(french, "ana", "guess").content.decode())
    assert LOCKED_FR in html.unescape(log_in(french, "ana").content.decode())


def test_the_login_only_sends_people_to_pages_of_this_site(make_user):
    make_user("ana", "tech")
    for target, expected in [("https://evil.example/phish", "/"), ("//evil.example/", "/"),
                             ("/queues/tech/", "/queues/tech/")]:
        answer = Client().post(f"/login/?next={target}", {"username": "ana", "password": "password",
                                                          "next": target})
        assert answer.status_code == 302 and answer.headers["Location"] == expected, (target, answer.headers)
