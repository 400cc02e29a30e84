"""The distilled classifier, trained on tickets the (scripted) LLM tier really analysed through
the pipeline: held-out figures, the tier that answers without an LLM call when sure, the
ledger's saving, answering alone when every LLM tier is down, and refusing to replace a
better version. The scripted model labels by keyword rules (tests/llm_servers.py), so what
the classifier should answer is known without asking it."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command

from analysis import classifier, services
from analysis.models import ClassifierVersion, CostLedgerDay
from tests.llm_servers import SERVER_ERROR, expected_labels
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

PLACES = ["paris", "lyon", "lille", "nantes", "brest", "nice", "metz", "caen", "dijon", "tours"]
TEMPLATES = [
    "my fibre is down again in {place}, day {n}",
    "internet down at home in {place} since {n} am",
    "la box est en panne à {place} depuis {n} heures",
    "where is my bill for {place} order {n}?",
    "my bill is wrong again, account {place}{n}",
    "ma facture est fausse pour {place}, dossier {n}",
    "thanks a lot for the help in {place} yesterday {n}",
    "merci pour votre aide à {place}, ticket {n}",
    "what are your opening hours in {place} on day {n}?",
    "do you sell phones in the {place} shop number {n}?",
]


def texts(count: int, start: int = 0) -> list[str]:
    combos = itertools.islice(itertools.product(range(1, 100), PLACES, TEMPLATES), start, start + count)
    return [template.format(place=place, n=n) for n, place, template in combos]


@pytest.fixture
def trained(analysed):
    for start in range(0, 300, 50):  # a worker claims at most 60 tickets at once
        analysed(*texts(50, start))
    outcome = services.train_classifier()
    assert outcome.activated and outcome.version == 1
    return outcome


def test_training_reports_held_out_agreement_and_thresholds(trained):
    evaluation = trained.evaluation
    assert evaluation.held_out == sum(classifier.held_out(t.id) for t in Ticket.objects.only("id"))
    assert all(0 <= value <= 1 for value in evaluation.agreement.values())
    assert evaluation.agreement["topic"] > 0.9  # keyword rules are easy to learn
    assert evaluation.accepted_share > 0.5 and evaluation.accepted_precision >= 0.95
    stored = ClassifierVersion.objects.get(version=1)
    assert stored.active and stored.trained_on == trained.trained_on and stored.thresholds == evaluation.thresholds


def test_the_classifier_takes_the_tweets_it_is_sure_of_without_an_llm_call(trained, analysed, fault_server):
    fault_server.play()  # count the calls from here
    new = texts(40, start=400)
    ids = analysed(*new)
    by_classifier = Ticket.objects(id__in=ids, analysis__provider="classifier")
    assert by_classifier.count() >= 10  # the sure ones: every field above its threshold
    asked = len(fault_server.requests)
    assert asked < 40 and asked + by_classifier.count() >= 40
    for ticket in by_classifier:
        expected = expected_labels(ticket.analysis.input_text)
        assert (ticket.analysis.topic, ticket.team) == (expected["topic"], expected["team"])
    saved = CostLedgerDay.objects(provider="classifier").first()
    assert saved.items == by_classifier.count() and saved.tokens_saved > 0 and saved.llm_calls_saved > 0


def test_with_every_llm_tier_down_the_classifier_answers_alone(trained, analysed, fault_server):
    fault_server.play(default=SERVER_ERROR)
    ids = analysed("my fibre is down in paris, still nothing after 3 days", "hello, is anyone reading this at all")
    alone = 0
    for ticket in Ticket.objects(id__in=ids):
        assert ticket.analysis.provider == "classifier" and ticket.team is not None
        if ticket.analysis.fallbacks:  # not sure enough: it went down the LLM tiers first
            assert ticket.analysis.fallbacks[-1] == "classifier: answered alone, every LLM tier failed"
            alone += 1
    assert alone >= 1  # the second tweet is like nothing it learned


def test_a_worse_training_does_not_replace_the_active_version(trained, capsys):
    # Spoil the labels of the training side only: the new version learns noise, and on the
    # same (clean) held-out split it agrees less than the active one.
    spoiled = [t.id for t in Ticket.objects.only("id") if not classifier.held_out(t.id)]
    for n, ticket_id in enumerate(spoiled):
        Ticket.objects(id=ticket_id).update(set__analysis__topic=["billing", "network", "other"][n % 3])
    call_command("train_classifier")
    output = capsys.readouterr().out
    assert "version 2 is stored but NOT active" in output
    assert ClassifierVersion.objects.get(active=True).version == 1
    call_command("train_classifier", "--force")
    assert ClassifierVersion.objects.get(active=True).version == 3


def test_the_overview_shows_the_active_classifier(trained, admin_client):
    page = admin_client.get("/").content.decode()
    share = round(trained.evaluation.accepted_share * 100)
    assert "Distilled classifier v1" in page and f"answers {share} % of held-out tweets" in page
