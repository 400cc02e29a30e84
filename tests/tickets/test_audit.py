"""Every kind of history entry reads as a sentence, in English and in French."""

from __future__ import annotations

import pytest
from django.utils import translation

from tickets.audit import AuditAction, read

pytestmark = pytest.mark.no_servers

DETAILS = {"provider": "fast", "team": "tech", "urgency": "high", "reply": "On regarde", "absorbed": "twcs:1",
           "into": "twcs:2", "notes": 1, "assignee": [None, "bob"], "status": ["new", "resolved"]}


@pytest.mark.parametrize("action", list(AuditAction))
def test_every_action_reads_as_its_own_sentence_in_both_languages(action):
    entry = {"by": "ana", "action": action.value, "details": DETAILS}
    with translation.override("en"):
        english = read(entry)
    with translation.override("fr"):
        french = read(entry)
    assert english and not english.startswith("ana: "), "its sentence, not the fallback"
    assert french != english, "translated"


def test_a_change_reads_before_and_after_in_words():
    entry = {"by": "ana", "action": "status_changed", "details": {"status": ["new", "resolved"],
                                                                  "team": ["tech", "tech"]}}
    with translation.override("en"):
        assert read(entry) == "ana changed the status (status: new → resolved)"  # the unchanged team is left out


def test_an_action_no_longer_known_reads_as_its_words():
    with translation.override("en"):
        assert read({"by": "system:old", "action": "archived_by_robot", "details": {}}) == (
            "system:old: archived by robot")
