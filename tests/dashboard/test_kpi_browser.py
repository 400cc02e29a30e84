"""The KPI page in Debian's headless Chromium: charts drawn by the served Chart.js, and
filters in the URL change them."""

from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from bench.llm_servers import expected_labels
from dashboard import alerts
from tests.alert_data import inject_burst
from tests.steps import log_in, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

TEXTS = ["internet down since this morning", "no signal at home", "my bill is wrong", "panne de fibre à Lyon"]


def chart_counts(browser, chart):
    script = (f"const c = window.DalloshCharts && window.DalloshCharts['{chart}'];"
              "return c ? Object.fromEntries(c.data.labels.map((l, i) => [l, c.data.datasets[0].data[i]])) : null;")
    return wait_for(lambda: browser.execute_script(script), until=lambda value: value is not None, timeout=20)


def test_a_manager_filters_the_kpi_charts(browser, daphne_server, analysed, make_user):
    analysed(*TEXTS)
    make_user("max", role="manager")
    log_in(browser, daphne_server, "max")
    browser.get(f"{daphne_server}/kpis/?period=all")
    topics = {}
    for text in TEXTS:
        topics[expected_labels(text)["topic"]] = topics.get(expected_labels(text)["topic"], 0) + 1
    assert chart_counts(browser, "topics") == topics
    Select(browser.find_element(By.CSS_SELECTOR, "#kpi-filters select[name=language]")).select_by_value("fr")
    browser.find_element(By.ID, "apply").click()
    wait_for(lambda: browser.current_url, until=lambda url: "language=fr" in url, timeout=20)
    assert chart_counts(browser, "topics") == {expected_labels(TEXTS[3])["topic"]: 1}
    assert browser.find_element(By.CSS_SELECTOR, '[data-figure="tickets"]').text == "1"


def test_agents_cannot_open_the_kpi_page(browser, daphne_server, make_user):
    make_user("ana", "tech")
    log_in(browser, daphne_server, "ana")
    browser.get(f"{daphne_server}/kpis/?period=all")
    assert "The KPI pages are for managers." in browser.page_source


def test_an_injected_burst_shows_up_on_a_managers_page_without_reload(browser, daphne_server, real_day,
                                                                       outage_rule, make_user):
    make_user("max", role="manager")
    log_in(browser, daphne_server, "max")
    browser.get(f"{daphne_server}/kpis/?period=all")
    chart_counts(browser, "topics")  # the page is up, its alert socket open
    assert browser.find_elements(By.CSS_SELECTOR, "#alerts-panel [data-alert]") == []
    inject_burst(25, datetime.now(UTC))
    alerts.evaluate_alerts()
    alert = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, '#alerts-panel [data-kind="outage_burst"]'),
                     until=bool, timeout=20)
    assert alert and "25 network complaints" in alert[0].text and "lyon" in alert[0].text


def test_kpi_figures_move_live_as_tickets_are_analysed(browser, daphne_server, analysed, make_user):
    analysed("internet down since this morning")
    make_user("max", role="manager")
    log_in(browser, daphne_server, "max")
    browser.get(f"{daphne_server}/kpis/?period=all")
    assert chart_counts(browser, "topics") == {"network": 1}
    analysed("my bill is wrong", "no signal at home")  # analysed while the page is open
    counts = wait_for(lambda: chart_counts(browser, "topics"), until=lambda c: c == {"network": 2, "billing": 1},
                      timeout=20)
    assert counts == {"network": 2, "billing": 1}
    assert browser.find_element(By.CSS_SELECTOR, '[data-figure="tickets"]').text == "3"


def test_sentiments_are_drawn_in_their_own_colours(browser, daphne_server, analysed, make_user):
    analysed(*TEXTS, "thanks, I love it")
    make_user("max", role="manager")
    log_in(browser, daphne_server, "max")
    browser.get(f"{daphne_server}/kpis/?period=all")
    chart_counts(browser, "sentiments")
    colours = browser.execute_script(
        "const c = window.DalloshCharts.sentiments;"
        "return Object.fromEntries(c.data.labels.map((l, i) => [l, c.data.datasets[0].backgroundColor[i]]));")
    wanted = {"negative": "#b42318", "neutral": "#98a2b3", "positive": "#067647"}
    drawn = {expected_labels(text)["sentiment"] for text in [*TEXTS, "thanks, I love it"]}
    assert colours == {sentiment: wanted[sentiment] for sentiment in drawn}
    negative = browser.execute_script("const c = window.DalloshCharts.negative;"
                                      "return [c.config.type, c.data.datasets[0].backgroundColor];")
    assert negative == ["bar", wanted["negative"]]
