"""Each person's own API token (dallosh/tokens.py, /account/api-token/): made and shown once,
then masked; it opens the API until its owner revokes it; nobody reaches another's token."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGE = "/account/api-token/"
REVOKE = "/account/api-token/revoke/"
API = "/api/v1/queues/tech/tickets"


def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def create_token(client) -> str:
    """Press "Create a token" and read the key the page shows, this once."""
    page = client.post(PAGE)
    assert page.status_code == 200
    return re.search(r'id="api-token-key">([0-9a-f]{40})<', page.content.decode())[1]


def api_status(key: str) -> int:
    return Client().get(API, HTTP_AUTHORIZATION=f"Token {key}").status_code


def test_a_token_made_on_the_page_opens_the_api_and_is_masked_afterwards(make_user):
    client = logged_in_client(make_user("ana", "tech"))
    assert "You have no API token." in client.get(PAGE).content.decode()
    key = create_token(client)
    assert api_status(key) == 200
    later = client.get(PAGE).content.decode()
    assert key not in later and f'id="api-token-masked">{key[:4]}' in later
    again = client.post(PAGE, follow=True).content.decode()
    assert "You already have an API token; revoke it to make a new one." in again and key not in again


def test_a_revoked_token_is_refused_by_the_api(make_user):
    client = logged_in_client(make_user("max", role="manager"))
    key = create_token(client)
    confirm = client.get(REVOKE).content.decode()
    assert f"Revoke the token <code>{key[:4]}" in confirm and 'id="confirm-revoke"' in confirm
    assert api_status(key) == 200  # asking is not revoking
    revoked = client.post(REVOKE, follow=True).content.decode()
    assert "Your API token is revoked: scripts using it are now refused." in revoked
    assert api_status(key) == 401
    assert "You have no API token." in revoked


def test_nobody_sees_or_revokes_another_persons_token(make_user):
    ana_key = create_token(logged_in_client(make_user("ana", "tech")))
    bob = logged_in_client(make_user("bob", "tech"))
    page = bob.get(PAGE).content.decode()
    assert "You have no API token." in page and ana_key[:4] + "•" not in page
    assert "You had no API token to revoke." in bob.post(REVOKE, follow=True).content.decode()
    assert api_status(ana_key) == 200
    bob_key = create_token(bob)
    assert bob_key != ana_key and api_status(bob_key) == 200


def test_making_or_revoking_a_token_needs_the_pages_csrf_token(make_user):
    ana = make_user("ana", "tech")
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(ana)
    assert forged.post(PAGE).status_code == 403
    key = create_token(logged_in_client(ana))
    assert forged.post(REVOKE).status_code == 403
    assert api_status(key) == 200


def test_the_token_pages_are_for_logged_in_people():
    for path in (PAGE, REVOKE):
        answer = Client().get(path)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login/?next="), path


def test_only_the_tokens_hash_is_stored_and_the_page_showing_it_is_never_cached(make_user, admin_client):
    import hashlib

    from dallosh.models import ApiToken

    client = logged_in_client(make_user("ana", "tech"))
    made = client.post(PAGE)
    assert "no-store" in made.headers["Cache-Control"]
    key = re.search(r'id="api-token-key">([0-9a-f]{40})<', made.content.decode())[1]
    stored = ApiToken.objects.get(user__username="ana")
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(ApiToken.objects.values_list()))
    listed = admin_client.get("/admin/dallosh/apitoken/").content.decode()
    assert "ana" in listed and key not in listed and stored.key_hash not in listed


def test_a_token_expires_and_its_last_use_is_shown(make_user):
    from datetime import UTC, datetime, timedelta

    from dallosh.models import ApiToken

    client = logged_in_client(make_user("ana", "tech"))
    key = create_token(client)
    assert 'id="api-token-used">never<' in client.get(PAGE).content.decode()
    assert api_status(key) == 200
    stored = ApiToken.objects.get(user__username="ana")
    assert stored.last_used_at is not None
    assert timedelta(days=89) < stored.expires_at - stored.created <= timedelta(days=90)  # the README's 90 days
    ApiToken.objects.filter(pk=stored.pk).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    answer = Client().get(API, HTTP_AUTHORIZATION=f"Token {key}")
    assert answer.status_code == 401 and "This token expired on" in answer.json()["error"]
    assert "expired: revoke it and make a new one" in client.get(PAGE).content.decode()


def test_repeated_failed_logins_lock_the_account_with_a_clear_message(make_user):
    import time

    if time.time() % 900 > 890:  # the failures below fall in one 15-minute window
        time.sleep(900 - time.time() % 900 + 1)
    make_user("ana", "tech")
    make_user("bob", "tech")  # both with the password "password"
    browser = Client()
    for _ in range(5):
        wrong = browser.post("/login/", {"username": "ana", "password": "guess"})
        assert "Wrong username or password." in wrong.content.decode()
    locked = browser.post("/login/", {"username": "ana", "password": "password"})
    assert locked.status_code == 200
    assert "Too many failed logins: logging in is locked for up to 15 minutes." in locked.content.decode()
    assert Client().post("/login/", {"username": "bob", "password": "password"}).status_code == 302
