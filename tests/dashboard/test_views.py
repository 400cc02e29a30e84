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


def test_an_empty_period_says_where_the_figures_are_and_links_there(make_user, analysed):
    """The demo's tweets are from 2017: "last 30 days" (the page's default) is empty."""
    import re

    analysed("internet down", "my bill is wrong")  # written 2017-10-31 (tests.helpers.twcs_record)
    manager = logged_in(make_user("max", role="manager"))
    page = manager.get("/kpis/?team=tech").content.decode()
    notice = re.search(r'<p class="invite" id="figures-elsewhere"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "No ticket in this period; the figures run from Oct. 31, 2017 to Oct. 31, 2017." in notice
    link = re.search(r'href="\?([^"]+)"', notice).group(1).replace("&amp;", "&")
    assert sorted(link.split("&")) == ["from=2017-10-31", "period=custom", "team=tech", "to=2017-10-31"]
    shown = manager.get(f"/kpis/?{link}").content.decode()
    assert 'id="figures-elsewhere"' not in shown
    assert re.search(r'data-figure="tickets">1<', shown)  # the tech ticket of that day
