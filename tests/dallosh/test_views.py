"""The pages every logged-in person has (dallosh/views.py): their own API token, in the
reader's language. The token's rules (shown once, masked, revoked, nobody else's) are
tests/dallosh/test_tokens.py's; here, what the pages say in French and what they refuse."""

import html
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGE = "/account/api-token/"
REVOKE = "/account/api-token/revoke/"


def french(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="fr")
    client.force_login(user)
    return client


def said(answer) -> str:
    return html.unescape(answer.content.decode())


def test_the_token_pages_speak_french_to_a_french_reader(make_user):
    client = french(make_user("ana", "tech"))
    made = client.post(PAGE)
    assert "Votre jeton d'API est prêt. Copiez-le maintenant : il ne sera plus affiché." in said(made)
    assert re.search(r'id="api-token-key">[0-9a-f]{40}<', made.content.decode())
    assert "Vous avez déjà un jeton d'API ; révoquez-le pour en créer un nouveau." in said(
        client.post(PAGE, follow=True))
    assert "Votre jeton d'API est révoqué : les scripts qui l'utilisent sont désormais refusés." in said(
        client.post(REVOKE, follow=True))
    assert "Vous n'aviez aucun jeton d'API à révoquer." in said(client.post(REVOKE, follow=True))


def test_the_token_pages_answer_only_get_and_post(make_user):
    client = Client()
    client.force_login(make_user("ana", "tech"))
    for path in (PAGE, REVOKE):
        for method in (client.put, client.delete):
            assert method(path).status_code == 405, (path, method)
    assert "You have no API token." in client.get(PAGE).content.decode()  # nothing was made or revoked
