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
