"""dashboard/views.py: who lands where, and who sees the system's health."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def test_the_systems_health_is_shown_by_one_rule_on_the_overview_and_the_api(make_user, django_user_model):
    """An account with no team and no manager role (new, or ingest-only) saw provider
    errors, costs and ingest file names on the overview while /api/v1/health refused it."""
    newcomer = logged_in(django_user_model.objects.create_user(username="nina", password="password"))
    page = newcomer.get("/")
    assert page.status_code == 200 and 'id="health"' not in page.content.decode()
    assert "belongs to no team yet" in page.content.decode()
    assert newcomer.get("/api/v1/health").status_code == 403
    manager = logged_in(make_user("max", role="manager"))
    assert 'id="health"' in manager.get("/").content.decode()
    assert manager.get("/api/v1/health").status_code == 200
