"""The fast tier's versions in MongoDB: numbered without collision and switched without a
moment where the workers find none (they would fall back to the starter heads), and a
version whose stored arrays changed is refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import gridfs
import pytest

from analysis import classifier, training
from analysis.classifier import Evaluation, VersionCorrupt
from analysis.models import ClassifierVersion
from dallosh.mongo import database

pytestmark = pytest.mark.django_db

FIELDS = ("sentiment", "topic", "urgency", "team", "actionable")


def figures() -> Evaluation:
    half = dict.fromkeys(FIELDS, 0.5)
    return Evaluation(agreement=half, macro_f1=half, thresholds=half, coverage=half, accepted_share=0.0,
                      accepted_precision=0.0, held_out=10)


def store(*, activate: bool = True) -> ClassifierVersion:
    return classifier.save(classifier.starter(), figures(), trained_on=10, corrections=0, activate=activate)


def test_versions_saved_at_once_by_two_trainings_get_their_own_numbers_and_one_is_always_active():
    store()
    seen_without_active, failures, saving = [], [], threading.Event()
    saving.set()

    def watch() -> None:
        while saving.is_set():
            if not ClassifierVersion.objects(active=True).count():
                seen_without_active.append(1)

    def train() -> None:
        try:
            for _ in range(12):
                store()
        except Exception as error:  # the test reports what a saver met
            failures.append(error)

    watcher = threading.Thread(target=watch)
    savers = [threading.Thread(target=train) for _ in range(2)]
    watcher.start()
    for saver in savers:
        saver.start()
    for saver in savers:
        saver.join(timeout=120)
    saving.clear()
    watcher.join(timeout=10)
    assert not failures
    numbers = [v.version for v in ClassifierVersion.objects.only("version")]
    assert len(numbers) == 25 and len(set(numbers)) == 25
    assert not seen_without_active
    assert ClassifierVersion.objects(active=True).count() == 1


def test_a_version_whose_arrays_changed_is_refused_and_the_workers_keep_theirs(settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True, heads_reload_s=0)
    good = store()
    assert classifier.active().version == good.version
    tampered = store(activate=False)
    blobs = gridfs.GridFS(database(), collection="classifier_blobs")
    blobs.delete(tampered.blob_id)
    blobs.put(classifier.starter().to_bytes().replace(b"sentiment", b"sentimenT"), _id=tampered.blob_id)
    with pytest.raises(VersionCorrupt, match=f"version {tampered.version}: its stored arrays do not match"):
        training.activate_version(version=tampered.version)
    assert ClassifierVersion.objects.get(active=True).version == good.version
    # Marked active behind the service's back (a restore, a hand edit): the workers keep theirs.
    ClassifierVersion.objects(version=tampered.version).update(set__active=True, set__activated_at=datetime.now(UTC))
    assert classifier.active().version == good.version
