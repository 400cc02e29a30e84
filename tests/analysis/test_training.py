"""The fast tier's training on the real encoder and the real labelled tweets: the shipped
heads beat a majority-class baseline on tweets they never trained on, a retraining is kept
only when it is not worse on the evaluation slice, a poisoned batch of corrections never
replaces the active version, and a rollback reaches the workers."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from sklearn.metrics import f1_score

from analysis import classifier, services, training, training_data, work
from analysis.models import ClassifierVersion
from dallosh import leases
from ingestion.services import ingest_records
from tests.steps import wait_for
from tickets import services as ticket_services
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

FIELDS = ("sentiment", "topic", "urgency", "team", "actionable")
MARGIN = 0.15  # macro-F1 above the majority class's: a regression guard, not the acceptance figure


def ingest(texts: list[str], *, first: int) -> list[str]:
    records = [{"tweet_id": str(first + n), "author_id": f"customer{first + n}", "inbound": True, "text": text,
                "created_at": f"Tue Oct 31 1{n // 60 % 10}:{n % 60:02d}:00 +0000 2017", "response_tweet_id": "",
                "in_response_to_tweet_id": None} for n, text in enumerate(texts)]
    ingest_records(records=records, source="twcs")
    return [f"twcs:{first + n}" for n in range(len(texts))]


@pytest.fixture
def fast_tier(settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True, tiers=[])
    classifier.forget_cache()


def test_the_shipped_heads_beat_the_majority_class_on_tweets_they_never_trained_on(shared_data):
    heads = classifier.starter()
    sample = training_data.scorecard_sample()  # of the evaluation slice: never trained on
    assert len(sample) == 300
    predictions = heads.predict([e.text for e in sample])
    for language in ("en", "fr"):
        rows = [n for n, e in enumerate(sample) if e.language == language]
        for field in FIELDS:
            gold = [sample[n].labels[field] for n in rows]
            majority = Counter(gold).most_common(1)[0][0]
            baseline = f1_score(gold, [majority] * len(gold), average="macro")
            found = f1_score(gold, [predictions[n].labels[field] for n in rows], average="macro")
            assert found >= baseline + MARGIN, (language, field, found, baseline)


def model_of(ticket_id: str) -> str | None:
    analysis = Ticket.objects(id=ticket_id).only("analysis").first().analysis
    return analysis.model if analysis else None


def test_a_retraining_is_kept_when_not_worse_a_poisoned_batch_never_is_and_a_rollback_reaches_the_workers(
        fast_tier, shared_data, make_user, capsys, start_qcluster, settings):
    """One manager's week with the model versions (one test: each training embeds the
    labelled set, which is most of its time)."""
    # Trained on what the starter learned from, the new version is no worse on the slice.
    call_command("train_classifier")
    assert "is now active" in capsys.readouterr().out
    first = ClassifierVersion.objects.get(active=True)
    assert first.version > classifier.starter().version and first.slice_name == "labelled-v1"
    # One agent marks 300 outage tweets as positive, low-urgency, not actionable billing.
    outages = [e.text for e in training_data.labelled_examples() if e.labels["topic"] == "network"][:300]
    ids = ingest(outages, first=70_000)
    services.label_tickets(ticket_ids=ids)
    vandal = make_user("vandal", "tech", "billing", "commercial")
    for ticket_id in ids:
        ticket_services.correct_labels(ticket_id=ticket_id, user=vandal, sentiment="positive", topic="billing",
                                       urgency="low", actionable=False)
    outcome = training.train_classifier()
    assert outcome.sources["correction"] == 300 and not outcome.activated
    assert ClassifierVersion.objects.get(active=True).version == first.version
    assert f"version {outcome.version} is stored but NOT active" in outcome.message
    # The label workers use the active version; rolled back to the starter heads, they follow.
    start_qcluster(work.LABEL_CLUSTER, DALLOSH_LOCAL_MODEL="off", DALLOSH_ANALYSIS_TIERS="local")
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(auto_enqueue=True)
    [before] = ingest(["my internet is down since this morning"], first=80_000)
    assert wait_for(lambda: model_of(before), until=bool, timeout=90) == f"use-m-heads-v{first.version}"
    starter = classifier.starter().version
    call_command("classifier_versions", "--activate", str(starter))
    assert not ClassifierVersion.objects(active=True).count()
    # within HEADS_RELOAD_S (2 s in the tests, a minute by default) every worker labels with it;
    # a label given sooner may still use the version the worker checked just before.
    time.sleep(settings.DALLOSH_ANALYSIS.heads_reload_s + 0.5)
    [after] = ingest(["la fibre ne marche plus depuis hier"], first=80_001)
    assert wait_for(lambda: model_of(after), until=bool, timeout=90) == f"use-m-heads-v{starter}"


def test_an_unknown_version_is_refused_with_the_versions_there_are(db):
    with pytest.raises(training.VersionUnknown, match="no version 999"):
        training.activate_version(version=999)


def test_a_training_while_another_runs_is_refused_and_stores_nothing(db):
    assert leases.take(name=training.TRAINING_LEASE, ttl=timedelta(minutes=5), holder="worker-2:4711")
    with pytest.raises(training.TrainingRunning, match=r"already running \(worker-2:4711 since"):
        training.train_classifier()
    assert not ClassifierVersion.objects.count()
