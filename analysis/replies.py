"""Reply drafts: a suggested answer to a customer, for an agent to edit and record.

Drafted by the same provider chain as the analysis (each tier in turn, with its circuit
breaker), in the tweet's language, at most MAX_CHARS characters, and checked against what
the policy forbids: promises (refunds, compensation, free service, deadlines, guarantees),
a model declining to help ("Je suis désolé, mais je ne peux pas vous aider avec cela." was
once offered to a customer) and links or web addresses (a model invents them). A draft
that breaks a rule is refused and asked again once, then the next tier is tried, then the
polite template. Nothing is ever sent: the agent records the reply they chose
(tickets/services.py).

Only refine workers call draft_reply: a tier may take minutes, and the local tier may start
a llama.cpp server; a web request only records the request (analysis/drafts/services.py).
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
# A model's refusal or its talk about itself, in English and French (’ or ' in contractions).
DECLINES = re.compile(
    r"\b(?:"
    r"I(?: a|[’'])m sorry,? but I (?:can(?:not|[’']t| not)|am unable|[’']m unable|am not able|[’']m not able)"
    r"|I (?:can(?:not|[’']t| not)|am unable to|[’']m unable to|am not able to|[’']m not able to|won[’']t) "
    r"(?:help|assist)"
    r"|as an AI\b|as an? (?:AI )?(?:language model|assistant|chatbot)"
    r"|je ne (?:peux|pourrai)(?: malheureusement)? pas (?:vous |t[’'])?aider"
    r"|je suis désolée?,? mais je ne (?:peux|suis) pas"
    r"|désolée?,? (?:mais )?je ne peux pas"
    r"|je ne suis pas en mesure de (?:vous |t[’'])?(?:aider|répondre)"
    r"|en tant qu[’'](?:IA|intelligence artificielle|assistant|mod[èe]le de langage)"
    r")", re.IGNORECASE)
# Links: a scheme, www., a domain with a path (bit.ly/x) or a bare domain of a common TLD.
LINKS = re.compile(
    r"(?:https?://|\bwww\.)\S*"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/\S*"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|fr|ly|io|co|me|gl|gd|info|biz|eu|be|ch|ca|uk|de|app|"
    r"xyz|link|page|site|online|shop|tv|us)\b",
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
    """What makes a draft unusable: too long, empty, a promise the policy forbids, a refusal
    to help, or a link (the model cannot know a real one; the agent adds their own)."""
    problems = []
    if not reply.strip():
        problems.append("the reply is empty")
    if len(reply) > MAX_CHARS:
        problems.append(f"the reply has {len(reply)} characters, over {MAX_CHARS}")
    promise = FORBIDDEN_PROMISES.search(reply)
    if promise:
        problems.append(f"it promises something the policy forbids ({promise.group(0)!r}): never promise refunds, "
                        "compensation, free service, deadlines or guarantees")
    decline = DECLINES.search(reply)
    if decline:
        problems.append(f"it declines to help or speaks of itself ({decline.group(0)!r}): answer the customer as "
                        "the operator's customer service")
    link = LINKS.search(reply)
    if link:
        problems.append(f"it carries a link or web address ({link.group(0)!r}): never give links, invite the "
                        "customer to a direct message instead")
    return problems


def messages_for(*, text: str, language: str | None) -> list[dict[str, str]]:
    system = ("You write replies for a telecom operator's customer service on Twitter. Be polite and brief "
              f"(at most {MAX_CHARS} characters), acknowledge the customer's problem, and invite them to a direct "
              "message for anything personal. Never promise a refund, compensation, free service, a deadline or a "
              "guarantee, never give a link or web address, and never decline: you are the operator's team. "
              'Answer with JSON: {"reply": "..."}.')
    language_line = INSTRUCTIONS.get(language or "", "Answer in the tweet's language.")
    return [{"role": "system", "content": system},
            {"role": "user", "content": f"{language_line}\nCustomer tweet: {prompts.clip(text)}\nJSON:"}]


def draft_reply(*, text: str, language: str | None) -> Draft:
    """The first tier's acceptable draft; a polite template if no tier gives one."""
    messages = messages_for(text=text, language=language)
    refused: list[str] = []
    for provider in default_chain(llm_only=True).tiers:  # the fast tier's heads write no replies
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
