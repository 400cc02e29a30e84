"""The API's browsable documentation (/api/v1/docs): Swagger UI from our own static files,
for logged-in people, with nothing loaded from another site."""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from django.test import Client
from selenium.webdriver.common.by import By

from tests.steps import log_in, wait_for

DOCS = "/api/v1/docs"
# Every address the page itself names: scripts, styles, icons, images.
ADDRESSES = re.compile(r'<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]*)"')


@pytest.mark.django_db
def test_the_docs_page_names_only_addresses_of_this_site(make_user):
    client = Client()
    client.force_login(make_user("ana", "tech"))
    page = client.get(DOCS)
    assert page.status_code == 200
    html = page.content.decode()
    addresses = ADDRESSES.findall(html)
    assert any("swagger-ui-bundle.js" in address for address in addresses), addresses
    for address in addresses:
        absolute = urlsplit(urljoin("http://testserver/api/v1/docs", address))
        assert (absolute.scheme, absolute.netloc) == ("http", "testserver"), address
    assert "/api/v1/schema" in html and 'href="/account/api-token/"' in html


@pytest.mark.django_db
def test_someone_not_logged_in_is_sent_to_log_in():
    answer = Client().get(DOCS)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/login/?next={DOCS}"


@pytest.mark.django_db(transaction=True)  # Daphne reads the user the test makes
def test_the_docs_show_the_operations_in_the_browser_without_errors(browser, daphne_server, make_user):
    make_user("ana", "tech")
    log_in(browser, daphne_server, "ana")
    browser.get_log("browser")  # what earlier pages logged
    browser.get(daphne_server + DOCS)
    paths = wait_for(lambda: [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")],
                     until=lambda found: "/api/v1/queues/{team}/tickets" in found, timeout=30)
    assert "/api/v1/ingest/stream" in paths and "/api/v1/tickets/{ticket_id}/{action}" in paths
    assert browser.find_elements(By.CSS_SELECTOR, ".errors-wrapper") == []
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => [e.name, e.responseStatus]);")
    assert loaded and all(name.startswith(daphne_server + "/") for name, _ in loaded), loaded
    assert all(status == 200 for _, status in loaded), loaded
    assert [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")] == []
    browser.find_element(By.ID, "api-token-link").click()
    wait_for(lambda: browser.current_url, until=lambda url: url.endswith("/account/api-token/"), timeout=20)
