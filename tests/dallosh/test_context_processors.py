"""What every page's navigation knows of the person (dallosh/context_processors.py): the
queues they may read, whether they may ingest, whether they see the managers' pages.
Expected from the roles (dallosh/permissions.py's docstring): agents read their own
teams' queues, managers and admins every team's, ingestion is for staff and `ingest`."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from dallosh.permissions import INGEST_GROUP

pytestmark = pytest.mark.django_db

EVERY_TEAM = ["tech", "billing", "commercial"]


def navigation(user, path="/account/api-token/") -> dict:
    client = Client()
    if user is not None:
        client.force_login(user)
    page = client.get(path)
    assert page.status_code == 200
    return {key: page.context[key] for key in ("nav_teams", "can_ingest", "is_manager")}


def test_each_role_sees_the_navigation_its_rights_give(make_user, django_user_model):
    feed = django_user_model.objects.create_user(username="feed", password="password")
    feed.groups.set([Group.objects.get_or_create(name=INGEST_GROUP)[0]])
    assert navigation(make_user("ana", "tech", "billing")) == {
        "nav_teams": ["tech", "billing"], "can_ingest": False, "is_manager": False}
    assert navigation(make_user("max", role="manager")) == {
        "nav_teams": EVERY_TEAM, "can_ingest": False, "is_manager": True}
    assert navigation(make_user("root", role="admin")) == {
        "nav_teams": EVERY_TEAM, "can_ingest": True, "is_manager": True}
    assert navigation(feed) == {"nav_teams": [], "can_ingest": True, "is_manager": False}
    assert navigation(None, "/login/") == {"nav_teams": [], "can_ingest": False, "is_manager": False}


def test_the_header_links_only_the_queues_the_agent_may_read(make_user):
    client = Client()
    client.force_login(make_user("bea", "billing"))
    header = client.get("/account/api-token/").content.decode()
    assert 'href="/queues/billing/"' in header
    assert 'href="/queues/tech/"' not in header and 'href="/kpis/"' not in header and 'href="/ingest/"' not in header
