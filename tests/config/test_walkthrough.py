"""Each role's main path in Debian's headless Chromium, in English and in French, as people
work: the agent lands on their queue, filters it, opens, claims, answers and resolves a
ticket with the keyboard only; the manager filters the KPI page and acknowledges an alert;
the admin edits a routing rule and watches its preview follow the unsaved values. Any console error, and any
4xx/5xx answer to the page's own requests (Chromium logs them as "Failed to load resource"),
fails the walk.

With DALLOSH_SCREENSHOTS set to a folder, the English walks also write the main pages'
screenshots there at 1400 px and 390 px wide (README: docs/screenshots/).
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from dashboard import alerts
from dashboard.models import Alert
from tests.alert_data import inject_burst
from tests.steps import live, log_in, wait_for
from tickets.models import RoutingRule, Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # Daphne reads what the test writes

LANGUAGES = ("en", "fr")
SHOTS = os.environ.get("DALLOSH_SCREENSHOTS", "")
WIDTHS = {"wide": (1400, 1000), "phone": (390, 844)}
DEFAULT_SIZE = (1280, 900)  # the session browser's (tests/conftest.py)


@pytest.fixture
def watched(browser):
    """The browser on a blank page (the last test's page and its sockets gone), its log
    emptied; the walk fails on what its own pages log."""
    browser.get("about:blank")
    browser.get_log("browser")
    yield browser
    problems = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    browser.set_window_size(*DEFAULT_SIZE)
    assert problems == [], "console errors or failed requests"


def choose_language(browser, language: str) -> None:
    """The header's switch, with the keyboard: focus the language's button and press Enter."""
    button = browser.find_element(By.CSS_SELECTOR, f'form.lang button[value="{language}"]')
    browser.execute_script("arguments[0].focus(); document.documentElement.dataset.before = 'switch'", button)
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    reloaded = "return document.readyState === 'complete' && !document.documentElement.dataset.before" \
               " ? document.documentElement.lang : null"
    wait_for(lambda: browser.execute_script(reloaded), until=lambda lang: lang == language, timeout=20)


def press(browser, *keys: str) -> None:
    ActionChains(browser).send_keys(*keys).perform()


def shoot(browser, name: str, language: str) -> None:
    """Screenshots of the page as shown, at each width, when asked for (English walks only)."""
    if not SHOTS or language != "en":
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width_name, (width, height) in WIDTHS.items():
        browser.set_window_size(width, height)
        full = min(browser.execute_script("return document.documentElement.scrollHeight"), 3000)
        # the whole page, not only the window: Chromium draws beyond the viewport
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": max(full, height), "scale": 1}})
        (folder / f"{name}-{width_name}.png").write_bytes(base64.b64decode(shot["data"]))
    browser.set_window_size(*DEFAULT_SIZE)


def status_of(ticket_id: str) -> str:
    return Ticket.objects.get(id=ticket_id).status


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_agent_works_a_ticket_with_the_keyboard_only(language, watched, daphne_server, analysed, make_user,
                                                        request):
    browser = watched
    if SHOTS:  # a queue worth a picture: a day of the shared sample's tweets
        request.getfixturevalue("real_day")
    mine, _other = analysed("internet down since this morning", "no signal at home")
    customer = Ticket.objects.get(id=mine).customer
    make_user("ana", "tech")
    log_in(browser, daphne_server, "ana")
    assert browser.current_url.endswith("/queues/tech/")  # agents land on their queue
    choose_language(browser, language)
    assert live(browser)
    shoot(browser, "queue", language)
    press(browser, "/")  # search: one customer
    assert browser.switch_to.active_element.get_attribute("id") == "search"
    press(browser, f"@{customer}", Keys.ENTER)
    wait_for(lambda: browser.current_url, until=lambda url: "q=%40" in url, timeout=20)
    rows = [row.get_attribute("data-id") for row in browser.find_elements(By.CSS_SELECTOR, "#queue-rows tr")]
    assert rows == [mine]
    press(browser, "j", "o")  # the first row, opened
    wait_for(lambda: browser.current_url, until=lambda url: "/tickets/" in url, timeout=20)
    assert live(browser)
    press(browser, "c")  # claim
    wait_for(lambda: Ticket.objects.get(id=mine).assignee, until=lambda holder: holder == "ana", timeout=20)
    wait_for(lambda: browser.find_elements(By.ID, "resolve"), until=bool, timeout=20)
    press(browser, "e")  # the reply box, then Tab to its button
    assert browser.switch_to.active_element.get_attribute("id") == "reply-text"
    press(browser, "We are sorry: a technician is on the way.", Keys.TAB, Keys.ENTER)
    wait_for(lambda: status_of(mine), until=lambda status: status == "waiting_customer", timeout=20)
    wait_for(lambda: browser.find_elements(By.ID, "resolve"), until=bool, timeout=20)
    shoot(browser, "ticket", language)
    press(browser, "r")  # resolve
    wait_for(lambda: status_of(mine), until=lambda status: status == "resolved", timeout=20)
    assert wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "#t-status").get_attribute("class"),
                    until=lambda classes: "s-resolved" in classes, timeout=20)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_manager_filters_the_kpis_and_acknowledges_an_alert(language, watched, daphne_server, real_day,
                                                              outage_rule, make_user):
    browser = watched
    inject_burst(25, datetime.now(UTC))
    alerts.evaluate_alerts()
    make_user("max", role="manager")
    log_in(browser, daphne_server, "max")
    choose_language(browser, language)
    shoot(browser, "overview", language)
    browser.get(f"{daphne_server}/kpis/")
    Select(browser.find_element(By.NAME, "team")).select_by_value("tech")
    browser.find_element(By.ID, "apply").click()
    wait_for(lambda: browser.current_url, until=lambda url: "team=tech" in url, timeout=20)
    wait_for(lambda: browser.execute_script("return window.DalloshCharts && !!window.DalloshCharts.volume"),
             until=bool, timeout=20)
    shoot(browser, "kpis", language)
    alert = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, '#alerts-panel [data-kind="outage_burst"] button'),
                     until=bool, timeout=20)[0]
    alert.click()
    wait_for(lambda: Alert.objects.get(kind="outage_burst").acknowledged_by, until=lambda by: by == "max",
             timeout=20)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_admin_edits_a_rule_with_its_live_preview(language, watched, daphne_server, analysed,
                                                     django_user_model):
    browser = watched
    analysed("my bill is wrong, refund me", "internet down since this morning", "refund for the fibre outage")
    django_user_model.objects.create_superuser("root", password="password")
    rule = RoutingRule.objects.create(name="refunds", keywords="bill", route_to_team="billing")
    log_in(browser, daphne_server, "root")
    choose_language(browser, language)
    browser.get(f"{daphne_server}/admin/tickets/routingrule/{rule.id}/change/")
    panel = browser.find_element(By.ID, "rule-preview")
    assert wait_for(lambda: panel.get_attribute("data-matched"), until=lambda m: m == "1", timeout=20)
    browser.find_element(By.NAME, "keywords").send_keys("\nrefund")
    assert wait_for(lambda: panel.get_attribute("data-matched"), until=lambda m: m == "2", timeout=20)
    shoot(browser, "routing-rule", language)
    assert RoutingRule.objects.get(id=rule.id).keywords == "bill"  # previewed, not saved
