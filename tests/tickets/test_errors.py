"""The tickets stage's refusals (tickets/errors.py): each says why in the reader's language, a
missing ticket reads the same as one not the reader's to see, and a forbidden or throttled
action is still a refused action to whoever catches refusals. (Their HTTP statuses are
tests/dallosh/test_errors.py's.)"""

import pytest
from django.utils import translation

from tickets.errors import ActionForbidden, ActionRefused, ActionThrottled, AlreadyClaimed, TicketNotFound

pytestmark = pytest.mark.no_servers


def test_a_missing_ticket_says_so_without_telling_whether_it_exists_in_both_languages():
    with translation.override("en"):
        error = TicketNotFound("twcs:404")
    assert str(error) == "No such ticket in your queues." and error.ticket_id == "twcs:404"
    with translation.override("fr"):
        assert str(TicketNotFound("twcs:404")) == "Aucun ticket de ce nom dans vos files d'attente."


def test_a_claimed_ticket_names_its_holder_in_both_languages():
    with translation.override("en"):
        error = AlreadyClaimed("ana")
    assert str(error) == "Already held by ana." and error.holder == "ana"
    with translation.override("fr"):
        assert str(AlreadyClaimed("ana")) == "Déjà pris en charge par ana."


def test_forbidden_throttled_and_claimed_are_all_refused_actions():
    for error in (ActionForbidden("not yours"), ActionThrottled("wait"), AlreadyClaimed("bob")):
        with pytest.raises(ActionRefused):
            raise error
