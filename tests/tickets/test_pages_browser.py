"""The agents' back-office in Debian's headless Chromium, served by Daphne, with a real
django-q2 worker analysing in the background and events over the Redis channel layer."""

import pytest
from django.conf import settings as django_settings
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tests.steps import live, log_in, text_of, wait_for
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # Daphne and the worker read what the test writes


def queue_order(browser):
    return [row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr")]


def test_agent_sees_a_ticket_arrive_live_claims_and_resolves_it(browser, daphne_server, start_qcluster, fault_server,
                                                                 analysed, make_user, settings, tmp_path):
    low, high = analysed("no signal at home", "internet down", minute=10)  # minutes 10 and 11
    make_user("ana", "tech")
    make_user("bea", "billing")
    log_in(browser, daphne_server, "ana")
    assert wait_for(lambda: browser.current_url, until=lambda url: url.endswith("/queues/tech/"), timeout=20)
    assert queue_order(browser) == [high, low]
    assert live(browser)

    # The scripted LLM labels it (the fast tier off), so the test knows its urgency.
    start_qcluster("refine", OPENAI_BASE_URL=fault_server.url, OPENAI_API_KEY="test", DALLOSH_ANALYSIS_TIERS="openai",
                   DALLOSH_LOCAL_MODEL="off", DALLOSH_FAST_TIER="off")
    settings.DALLOSH_ANALYSIS = django_settings.DALLOSH_ANALYSIS.replace(auto_enqueue=True, fast_tier=False)
    ingest_records(records=[twcs_record(900, "fibre down since this morning", minute=5)], source="twcs")
    arrived = wait_for(lambda: queue_order(browser), until=lambda order: len(order) == 3, timeout=90)
    browser.save_screenshot(str(tmp_path / "queue.png"))
    assert arrived == ["twcs:900", high, low]  # high urgency, and older than the other high one
    assert Ticket.objects.get(id="twcs:900").analysis.provider == "openai"

    browser.find_element(By.CSS_SELECTOR, '#queue-rows tr[data-id="twcs:900"] a').click()
    browser.find_element(By.ID, "claim").click()
    assert wait_for(lambda: text_of(browser, "t-assignee"), until=lambda t: t == "ana", timeout=20)
    Select(browser.find_element(By.ID, "status-select")).select_by_value("resolved")
    browser.find_element(By.ID, "set-status").click()
    assert wait_for(lambda: text_of(browser, "t-status"), until=lambda t: t == "resolved",
                    timeout=20) == "resolved"
    assert Ticket.objects.get(id="twcs:900").status == "resolved"

    log_in(browser, daphne_server, "bea")
    browser.get(f"{daphne_server}/tickets/twcs:900/")
    assert "Not Found" in browser.page_source or "404" in browser.title or "not found" in browser.page_source.lower()
    assert "fibre down since this morning" not in browser.page_source


def test_a_dropped_socket_resyncs_the_queue_on_reconnect(browser, daphne_server, analysed, make_user):
    first, second = analysed("internet down", "fibre down")
    make_user("ana", "tech")
    bob = make_user("bob", "tech")
    log_in(browser, daphne_server, "ana")
    assert live(browser)
    browser.execute_script("Dallosh.sockets[0].ws.close();")  # the network drops…
    services.claim_ticket(ticket_id=second, user=bob)  # …while bob claims: ana's page misses the event
    resynced = wait_for(lambda: browser.find_element(By.ID, "queue").get_attribute("data-resyncs"),
                        until=lambda count: count == "1", timeout=20)
    assert resynced == "1"
    holders = {row.get_attribute("data-id"): row.find_element(By.CLASS_NAME, "holder").text
               for row in browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr")}
    assert holders == {first: "—", second: "bob"}


def test_other_agents_claims_show_at_once_on_an_open_ticket_page(browser, daphne_server, analysed, make_user):
    ticket_id = analysed("internet down")[0]
    make_user("ana", "tech")
    bob = make_user("bob", "tech")
    log_in(browser, daphne_server, "ana")
    browser.get(f"{daphne_server}/tickets/{ticket_id}/")
    assert live(browser)
    services.claim_ticket(ticket_id=ticket_id, user=bob)
    seen = wait_for(lambda: text_of(browser, "t-assignee"), until=lambda t: t == "bob", timeout=20)
    assert seen == "bob", browser.find_element(By.TAG_NAME, "main").get_attribute("innerHTML")[:3000]
