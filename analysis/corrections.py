"""Agents' label corrections as few-shot examples for every LLM tier.

A correction is the most informative example there is: a tweet a model got wrong, with
the labels a person chose. The recent ones are curated per language (near-duplicates
kept once, newest first, at most CURATED_PER_LANGUAGE) and, for each prompt, the ones
most similar to the tweets being analysed are shown before them, within a token budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from analysis import prompts
from dallosh.vocabulary import UNKNOWN_LANGUAGE, labels_in_force
from tickets import selectors as ticket_selectors

CURATED_PER_LANGUAGE = 300
LOOKBACK_DAYS = 180
RELOAD_EVERY_S = 60
WORD = re.compile(r"[^\W\d_]{3,}")
NOT_WORD = re.compile(r"\W+")


@dataclass(frozen=True)
class Shot:
    text: str
    answer: dict  # the corrected labels in the answer's JSON shape
    words: frozenset[str]


def words_of(text: str) -> frozenset[str]:
    return frozenset(WORD.findall(text.casefold()))


CACHE_KEY = "analysis:corrections:shots"


def curated(language: str | None) -> list[Shot]:
    """The curated corrections of one language (all languages for None), newest first;
    read again at most every RELOAD_EVERY_S (Django's cache)."""
    shots = cache.get_or_set(CACHE_KEY, _load, timeout=RELOAD_EVERY_S)
    if language:
        return shots.get(language, [])
    return [shot for per_language in shots.values() for shot in per_language]




def _load() -> dict[str, list[Shot]]:
    found = ticket_selectors.corrected_tickets(since=datetime.now(UTC) - timedelta(days=LOOKBACK_DAYS))
    by_language: dict[str, list[Shot]] = {}
    seen: set[str] = set()
    for ticket in sorted(found, key=lambda t: t["correction"]["at"], reverse=True):
        analysis, correction = ticket.get("analysis") or {}, ticket["correction"]
        text = analysis.get("input_text")
        if not text:
            continue
        key = NOT_WORD.sub("", text.casefold())
        if key in seen:
            continue
        seen.add(key)
        answer = labels_in_force(analysis, correction)
        shots = by_language.setdefault(ticket.get("language") or UNKNOWN_LANGUAGE, [])
        if len(shots) < CURATED_PER_LANGUAGE:
            shots.append(Shot(text=text, answer=answer, words=words_of(text)))
    return by_language


def select(texts: list[str], *, language: str | None, budget_tokens: int | None = None) -> list[Shot]:
    """The corrections most like `texts` (shared words), best first, within the budget."""
    budget = settings.DALLOSH_ANALYSIS.fewshot_tokens if budget_tokens is None else budget_tokens
    candidates = curated(language)
    if not candidates or budget <= 0:
        return []
    wanted = frozenset().union(*(words_of(text) for text in texts))
    ranked = sorted(((_similarity(shot.words, wanted), n, shot) for n, shot in enumerate(candidates)),
                    key=lambda entry: (-entry[0], entry[1]))
    chosen, used = [], 0
    for similarity, _, shot in ranked:
        if similarity <= 0:
            break
        cost = prompts.estimated_tokens(shot.text) + 40
        if used + cost > budget:
            continue
        chosen.append(shot)
        used += cost
    return chosen


def _similarity(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def forget_cache() -> None:
    cache.delete(CACHE_KEY)


def forget_on_correction(**_signal) -> None:
    """tickets.events.labels_corrected and correction_withdrawn: this process's prompts use
    a new correction, and stop showing a withdrawn one, at once; workers reload within a
    minute (a withdrawn correction is no longer among the corrected tickets they read)."""
    forget_cache()
