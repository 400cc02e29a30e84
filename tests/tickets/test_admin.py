"""The routing rules' admin: a list that fits the screen, and a preview of the rule as it is
being edited (unsaved values), checked against tickets the test analysed itself."""

import pytest
from selenium.webdriver.common.by import By

from analysis import services
from bench.llm_servers import expected_labels
from ingestion.services import ingest_records
from tests.helpers import twcs_record
from tests.steps import log_in, wait_for
from tickets.models import RoutingRule, Ticket

TEXTS = {"c1": "my fibre is down since monday", "c2": "refund please, charged twice on my bill",
         "c3": "is 5G offered in Lyon", "c4": "fibre cut again, I want a refund"}
EMPTY_RULE = {"name": "draft", "priority": "10", "active": "on", "topic": "", "sentiment": "", "urgency": "",
              "language": "", "keywords": "", "author": "", "route_to_team": "billing", "set_urgency": ""}


@pytest.fixture
def tickets_by_customer(use_tiers, fault_server):
    ingest_records(records=[twcs_record(n, text, author=author) for n, (author, text) in enumerate(TEXTS.items(), 1)],
                   source="twcs")
    use_tiers(("openai", fault_server.url))
    services.analyse_tickets(ticket_ids=[t.id for t in Ticket.objects.all()])
    return {t.customer: t.id for t in Ticket.objects.all()}


def preview(admin_client, **values):
    return admin_client.post("/admin/tickets/routingrule/preview/", {**EMPTY_RULE, **values})


@pytest.mark.django_db
def test_the_preview_counts_what_the_unsaved_values_match(admin_client, tickets_by_customer):
    answer = preview(admin_client, keywords="refund\nfibre")
    assert answer.status_code == 200 and not RoutingRule.objects.exists()
    either = [c for c, text in TEXTS.items() if "refund" in text or "fibre" in text]
    assert (answer.json()["matched"], answer.json()["scanned"]) == (len(either), len(TEXTS))
    assert sorted(e["id"] for e in answer.json()["examples"]) == sorted(tickets_by_customer[c] for c in either)
    network = sorted(c for c, text in TEXTS.items() if expected_labels(text)["topic"] == "network")
    narrowed = preview(admin_client, keywords="refund, fibre", topic="network").json()
    assert sorted(e["id"] for e in narrowed["examples"]) == sorted(
        tickets_by_customer[c] for c in network if "refund" in TEXTS[c] or "fibre" in TEXTS[c])
    link = f'href="/tickets/{tickets_by_customer["c2"]}/"'
    assert link in preview(admin_client, keywords="charged twice").json()["html"]


@pytest.mark.django_db
def test_invalid_values_get_a_message_not_an_error_page(admin_client):
    answer = preview(admin_client, topic="weather", priority="soon")
    assert answer.status_code == 400
    assert "Topic" in answer.json()["error"] and "Priority" in answer.json()["error"]
    nothing_set = preview(admin_client, route_to_team="")
    assert nothing_set.status_code == 400
    assert "A rule must set a team, an urgency, or both." in nothing_set.json()["error"]


@pytest.mark.django_db
def test_the_rule_list_shows_conditions_and_actions_in_two_columns(admin_client):
    RoutingRule.objects.create(name="refunds", priority=4, topic="billing", keywords="avoir\nrefund",
                               route_to_team="commercial", set_urgency="high")
    page = admin_client.get("/admin/tickets/routingrule/").content.decode()
    assert "text contains avoir | refund" in page and "team commercial · urgency high" in page
    assert "column-when" in page and "column-route_to_team" not in page


@pytest.mark.django_db(transaction=True)
def test_editing_the_keywords_updates_the_preview_without_saving(browser, daphne_server, tickets_by_customer,
                                                                 django_user_model):
    django_user_model.objects.create_superuser("root", password="password")
    rule = RoutingRule.objects.create(name="refunds", keywords="refund", route_to_team="billing")
    log_in(browser, daphne_server, "root")
    browser.get(f"{daphne_server}/admin/tickets/routingrule/{rule.id}/change/")
    panel = browser.find_element(By.ID, "rule-preview")
    matched = sum("refund" in text for text in TEXTS.values())
    assert wait_for(lambda: panel.get_attribute("data-matched"), until=lambda m: m == str(matched), timeout=20)
    keywords = browser.find_element(By.NAME, "keywords")
    keywords.send_keys("\nfibre")
    both = sum("refund" in text or "fibre" in text for text in TEXTS.values())
    assert wait_for(lambda: panel.get_attribute("data-matched"), until=lambda m: m == str(both), timeout=20)
    assert f"<strong>{both}</strong>" in browser.find_element(By.ID, "rule-preview-body").get_attribute("innerHTML")
    assert RoutingRule.objects.get(id=rule.id).keywords == "refund"
