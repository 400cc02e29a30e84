"""Reply drafts: a suggested answer to a customer, for an agent to edit and record.

Drafted by the same provider chain as the analysis (each tier in turn, with its circuit
breaker), in the tweet's language, at most MAX_CHARS characters, and checked against the
promises the policy forbids (refunds, compensation, free service, deadlines, guarantees):
a draft that makes one is refused and asked again once, then the next tier is tried.
Nothing is ever sent: the agent records the reply they chose (tickets/services.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from analysis import health, prompts
from analysis.chain import default_chain
from analysis.providers import ProviderFailure
from tickets.services import REPLY_MAX_CHARS

MAX_CHARS = REPLY_MAX_CHARS  # what a recorded reply may hold
ANSWER_TOKENS = 160
SCHEMA = {"type": "object", "properties": {"reply": {"type": "string"}}, "required": ["reply"],
          "additionalProperties": False}
FORBIDDEN_PROMISES = re.compile(
    r"\b(?:refund|reimburs|compensat|rembours|dédommag|indemni|geste commercial|free (?:month|of charge)|"
    r"gratuit|guarantee|garanti|within \d+ ?(?:hours?|days?)|by tomorrow|d'ici demain|sous \d+ ?(?:heures?|jours?))",
    re.IGNORECASE)
INSTRUCTIONS = {
    "fr": "Réponds en français.",
    "en": "Answer in English.",
}
FALLBACK = {
    "fr": "Bonjour, nous sommes désolés pour ce désagrément. Pouvez-vous nous écrire en message privé avec votre "
          "identifiant pour que nous regardions votre dossier ?",
    "en": "Hello, we're sorry for the trouble. Could you send us a direct message with your account details so we "
          "can look into it?",
}


@dataclass(frozen=True)
class Draft:
    text: str
    provider: str  # the tier that wrote it, or "template" when every tier failed
    model: str
    problems: tuple[str, ...] = ()  # why earlier drafts were refused


def policy_problems(reply: str) -> list[str]:
    """What makes a draft unusable: too long, empty, or a promise the policy forbids."""
    problems = []
    if not reply.strip():
        problems.append("the reply is empty")
    if len(reply) > MAX_CHARS:
        problems.append(f"the reply has {len(reply)} characters, over {MAX_CHARS}")
    promise = FORBIDDEN_PROMISES.search(reply)
    if promise:
        problems.append(f"it promises something the policy forbids ({promise.group(0)!r}): never promise refunds, "
                        "compensation, free service, deadlines or guarantees")
    return problems


def messages_for(*, text: str, language: str | None) -> list[dict[str, str]]:
    system = ("You write replies for a telecom operator's customer service on Twitter. Be polite and brief "
              f"(at most {MAX_CHARS} characters), acknowledge the customer's problem, and invite them to a direct "
              "message for anything personal. Never promise a refund, compensation, free service, a deadline or a "
              'guarantee. Answer with JSON: {"reply": "..."}.')
    language_line = INSTRUCTIONS.get(language or "", "Answer in the tweet's language.")
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"{language_line}\nCustomer tweet: {prompts.clip(text)}\nJSON:"}]


def draft_reply(*, text: str, language: str | None) -> Draft:
    """The first tier's acceptable draft; a polite template if no tier gives one."""
    messages = messages_for(text=text, language=language)
    refused: list[str] = []
    for provider in default_chain().tiers:
        name = provider.config.name
        if not health.breaker_allows(name):
            continue
        asked = messages
        for _attempt in range(2):
            try:
                completion = provider.complete(messages=asked, schema=SCHEMA, max_tokens=ANSWER_TOKENS)
            except ProviderFailure as failure:
                health.record_failure(name, str(failure))
                refused.append(f"{name}: {failure.kind}")
                break
            health.record_success(name)
            reply = _reply_of(completion.content)
            problems = policy_problems(reply) if reply is not None else ["not the JSON asked for"]
            if not problems:
                return Draft(reply.strip(), name, completion.model, tuple(refused))
            refused.append(f"{name}: {'; '.join(problems)}")
            asked = [*messages, {"role": "assistant", "content": completion.content[:2000]},
                     {"role": "user", "content": "That reply is not usable: " + "; ".join(problems)
                                                 + ". Write it again."}]
    return Draft(FALLBACK.get(language or "", FALLBACK["en"]), "template", "", tuple(refused))


def _reply_of(content: str) -> str | None:
    try:
        document = json.loads(content, strict=False)
    except ValueError:
        return None
    reply = document.get("reply") if isinstance(document, dict) else None
    return reply if isinstance(reply, str) else None
