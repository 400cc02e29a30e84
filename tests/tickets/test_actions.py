"""What a page offers is what the services accept: for each role and each state a ticket can
be in, every action offered succeeds when run, and every action not offered is refused."""

from __future__ import annotations

import pytest

from tickets import actions, services
from tickets.models import Ticket

STATES = ("new, unassigned", "held by ana", "resolved")
ROLES = ("ana (holder)", "tom (same team)", "lea (other team)", "max (manager)")
TEXT = "my internet is down since this morning"  # the scripted model routes it to tech


def bodies(ticket: dict, user) -> dict[str, dict]:
    """A valid body for each action: what a person would fill in (a status the page offers
    them, or the first transition when it offers none)."""
    statuses = actions.statuses_offered(ticket=ticket, user=user) or services.TRANSITIONS[ticket["status"]]
    return {"claim": {}, "release": {}, "assign": {"assignee": "tom"}, "status": {"status": statuses[0]},
            "resolve": {}, "reroute": {"team": "billing", "reason": "a bill"}, "note": {"text": "called back"},
            "reply": {"text": "We are on it."}, "withdraw_correction": {},
            "correct": {"sentiment": "negative", "topic": "billing", "urgency": "low", "actionable": "true"}}


@pytest.mark.parametrize("state", STATES)
def test_every_action_offered_succeeds_and_every_other_is_refused(analysed, make_user, state):
    users = {"ana (holder)": make_user("ana", "tech"), "tom (same team)": make_user("tom", "tech"),
             "lea (other team)": make_user("lea", "billing"), "max (manager)": make_user("max", role="manager")}
    mismatches = []
    for role in ROLES:
        ids = analysed(*[TEXT] * len(actions.ACTIONS))
        for ticket_id, name in zip(ids, actions.ACTIONS, strict=True):
            if state != "new, unassigned":
                services.claim_ticket(ticket_id=ticket_id, user=users["ana (holder)"])
            if state == "resolved":
                services.change_status(ticket_id=ticket_id, user=users["ana (holder)"], status="resolved")
            if name == "withdraw_correction":  # something to withdraw, corrected by the holder's colleague
                services.correct_labels(ticket_id=ticket_id, user=users["tom (same team)"], sentiment="negative",
                                        topic="network", urgency="high", actionable=True)
            ticket = Ticket.objects.get(id=ticket_id).to_mongo().to_dict()
            offered = name in actions.offered(ticket=ticket, user=users[role])
            try:
                actions.run(name=name, ticket_id=ticket_id, user=users[role], data=bodies(ticket, users[role])[name])
                accepted = True
            except (services.ActionRefused, services.TicketNotFound):
                accepted = False
            if offered != accepted:
                mismatches.append(f"{name} for {role}: offered={offered}, accepted={accepted}")
    assert mismatches == [], "\n".join(mismatches)
