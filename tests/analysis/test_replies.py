"""Reply drafts (analysis/replies.py): a draft that breaks the policy is refused and asked
again, then the next tier writes it, then the polite template in the customer's language."""

from __future__ import annotations

import pytest

from analysis import replies
from bench.llm_servers import PROMISE

pytestmark = pytest.mark.django_db


def test_a_draft_that_promises_a_refund_is_refused_and_the_next_tier_writes_it(use_tiers, fault_server,
                                                                                 second_fault_server):

    use_tiers(("openai", fault_server.url), ("ollama-compatible", second_fault_server.url))
    fault_server.play(PROMISE, PROMISE)
    draft = replies.draft_reply(text="my bill is wrong", language="en")
    assert draft.provider == "ollama-compatible"
    assert draft.text == "second draft: sorry about my bill is wrong, please DM us."
    assert len(draft.problems) == 2 and "refund" in draft.problems[0]
    fault_server.play(PROMISE, PROMISE)
    use_tiers(("openai", fault_server.url))
    alone = replies.draft_reply(text="ma facture est fausse", language="fr")
    assert alone.provider == "template" and alone.text.startswith("Bonjour")
