"""The agents' back-office in Debian's headless Chromium, served by Daphne, with a real
django-q2 worker analysing in the background and events over the Redis channel layer."""

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from analysis import services as analysis_services
from ingestion.services import ingest_calls, ingest_mails, ingest_records
from ingestion.transcripts import Hints
from tests.helpers import email_bytes, twcs_record
from tests.steps import live, log_in, text_of, wait_for
from tickets import services
from tickets.models import Ticket

CALL = """1
00:00:00,000 --> 00:00:03,500
Conseiller: Bonjour, vous êtes bien chez Dallosh.

2
00:00:04,000 --> 00:00:09,000
Client: Panne totale, plus de signal depuis ce matin.
"""
pytestmark = pytest.mark.django_db(transaction=True)  # Daphne and the worker read what the test writes


def queue_order(browser):
    """The queue's rows, top first; None while a page load or a live update is replacing them."""
    try:
        return [row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr")]
    except StaleElementReferenceException:
        return None


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
    arrived = wait_for(lambda: queue_order(browser), until=lambda order: order is not None and len(order) == 3,
                       timeout=90)
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


def test_the_channel_filter_a_mail_and_a_call_read_in_chromium_in_english_and_french(browser, daphne_server, analysed,
                                                                                      make_user):
    tweet = analysed("internet down at home")[0]
    ingest_mails(messages=[email_bytes(subject="Panne fibre", body="Internet down since this morning, no signal.",
                                       attachments=[("box.jpg", "image/jpeg", b"\xff\xd8" * 600)])])
    ingest_calls(calls=[(CALL.encode(), Hints(call_id="C-77", caller="+33600000077",
                                              started_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC)))])
    mail, call = (Ticket.objects(channel=channel).get().id for channel in ("email", "call"))
    analysis_services.analyse_tickets(ticket_ids=[mail, call])
    make_user("ana", "tech")
    log_in(browser, daphne_server, "ana")
    browser.get(f"{daphne_server}/queues/tech/")
    assert sorted(queue_order(browser)) == sorted([tweet, mail, call])
    channels = {row.get_attribute("data-id"): row.find_element(By.CLASS_NAME, "channel").text
                for row in browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr")}
    assert channels == {tweet: "Twitter", mail: "E-mail", call: "Call"}

    Select(browser.find_element(By.CSS_SELECTOR, "#filters select[name=channel]")).select_by_value("email")
    browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
    assert wait_for(lambda: queue_order(browser), until=lambda order: order == [mail], timeout=20) == [mail]
    browser.find_element(By.CSS_SELECTOR, f'#queue-rows tr[data-id="{mail}"] a').click()
    head = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".mail-head").text, until=bool, timeout=20)
    assert "From" in head and "camille.durand@example.fr" in head and "Subject" in head and "Panne fibre" in head
    assert "box.jpg" in browser.find_element(By.CSS_SELECTOR, ".attachments").text

    browser.find_element(By.CSS_SELECTOR, "form.lang button[value=fr]").click()  # the header's FR switch
    head = wait_for(lambda: browser.find_element(By.CSS_SELECTOR, ".mail-head").text, until=lambda t: "Objet" in t,
                    timeout=20)
    assert "De" in head and "Panne fibre" in head
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    browser.get(f"{daphne_server}/queues/tech/?channel=call")
    assert queue_order(browser) == [call]
    assert browser.find_element(By.CSS_SELECTOR, f'#queue-rows tr[data-id="{call}"] .channel').text == "Appel"
    channel_filter = Select(browser.find_element(By.CSS_SELECTOR, "#filters select[name=channel]"))
    assert channel_filter.options[0].text == "tous les canaux"
    browser.find_element(By.CSS_SELECTOR, f'#queue-rows tr[data-id="{call}"] a').click()
    turns = wait_for(lambda: [turn.text for turn in browser.find_elements(By.CSS_SELECTOR, ".dialogue .turn")],
                     until=lambda found: len(found) == 2, timeout=20)
    assert turns == ["0:00 Conseiller : Bonjour, vous êtes bien chez Dallosh.",
                     "0:04 Client : Panne totale, plus de signal depuis ce matin."]
    assert "+33600000077" in browser.find_element(By.CSS_SELECTOR, ".call-head").text
