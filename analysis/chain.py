"""The provider chain, in one place: fast tier → OpenAI → Ollama → built-in local model.

As configured, the fast tier (analysis/classifier.py) first takes the tweets it is sure
of, without an LLM call; the rest go down the LLM tiers; what every LLM tier failed on, the
fast tier answers alone. The workers use it in two halves (analysis/services.py): the fast
tier labels every ticket at once, and the LLM tiers alone refine the unsure ones.

Per call, a failure moves the tweets on to the next tier: timeout, refused connection,
5xx, a 429 that outlasts its bounded retries, or an answer that is still invalid after one
repair attempt. A tier whose circuit breaker is open is skipped, except the last one,
which is always tried so the pipeline never stalls. A batched answer that misses an id,
repeats one or answers an id that was not asked is never guessed at: those tweets come
back as `requeued`, to be analysed alone.

The chain writes no ticket: it returns outcomes, and analysis/services.py writes them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from analysis import certainty, classifier, corrections, health, prompts, schema, second_opinion
from analysis.classifier import Classifier
from analysis.prompts import Item
from analysis.providers import Completion, FailureKind, Provider, ProviderFailure, build_provider
from dallosh import vocabulary
from dallosh.conf import TierSettings

logger = logging.getLogger(__name__)

CLASSIFIER_ALONE = "fast: answered alone, every LLM tier failed"


@dataclass
class Outcome:
    """One tweet's analysis and how it was obtained."""

    analysis: vocabulary.Analysis
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    attempts: int
    batch_size: int
    fallbacks: list[str]
    confidence: dict[str, float] = field(default_factory=dict)  # field -> probability of the label given
    unsure: list[str] = field(default_factory=list)  # fields below the fast tier's threshold

    def record(self, *, analysis: vocabulary.Analysis, text: str, now, confidence: dict[str, float],
               unsure: list[str], refine_fields: list[str], refine_basis: dict, review_flag: str | None) -> dict:
        """The one builder of the analysis a ticket stores (tickets.models.TicketAnalysis, read
        back as tickets.store.AnalysisRow): the labels in force (`analysis`: this outcome's,
        or the fast labels kept beside an LLM's where it was not asked), what it was read
        from, how it was obtained, and what the pipeline decided about its doubts."""
        return {**analysis.to_dict(), "input_text": text, "provider": self.provider, "model": self.model,
                "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "latency_ms": self.latency_ms,
                "attempts": self.attempts, "batch_size": self.batch_size, "fallbacks": self.fallbacks,
                "prompt_version": prompts.prompt_version(), "analysed_at": now, "confidence": confidence,
                "unsure": unsure, "refine_fields": refine_fields, "refine_basis": refine_basis,
                "review_flag": review_flag}


@dataclass
class ChainResult:
    on_analysed: Callable[[str, Outcome], None] | None = None
    analysed: dict[str, Outcome] = field(default_factory=dict)
    requeued: dict[str, str] = field(default_factory=dict)  # id -> why it must be analysed alone
    failed: dict[str, list[str]] = field(default_factory=dict)  # id -> every tier's failure


@dataclass
class _Tracker:
    """Per-tweet bookkeeping across calls and tiers."""

    attempts: Counter = field(default_factory=Counter)
    fallbacks: dict[str, list[str]] = field(default_factory=dict)

    def note(self, ids: list[str], reason: str) -> None:
        for item_id in ids:
            self.fallbacks.setdefault(item_id, []).append(reason)


@dataclass
class _Answer:
    """What one tier made of a batch: valid analyses, invalid ones, ids missing or ambiguous."""

    valid: dict[str, vocabulary.Analysis] = field(default_factory=dict)
    invalid: dict[str, list[str]] = field(default_factory=dict)
    misaligned: dict[str, str] = field(default_factory=dict)
    completions: list[Completion] = field(default_factory=list)


class ProviderChain:
    def __init__(self, tiers: list[Provider], *, classifier: Classifier | None = None) -> None:
        if not tiers and classifier is None:
            raise ValueError("the provider chain needs at least one tier; check DALLOSH_ANALYSIS_TIERS")
        self.tiers = tiers
        self.classifier = classifier

    def analyse(self, items: list[Item], *, solo: bool = False,
                on_analysed: Callable[[str, Outcome], None] | None = None,
                before_call: Callable[[], object] | None = None) -> ChainResult:
        """Analyse `items` down the chain; `solo` forces one tweet per call (re-queued tweets).

        `on_analysed` is called for each tweet as soon as its answer is valid, so a caller
        can write it at once rather than after the whole list. `before_call` runs before
        each LLM call: a refinement task of 20 tickets on the local model lasts minutes, and
        it waits there for labelling (analysis/tasks.py) rather than only when it starts.
        """
        result = ChainResult(on_analysed=on_analysed)
        tracker = _Tracker()
        pending = self._take_confident(list(items), result) if self.classifier else list(items)
        for position, provider in enumerate(self.tiers):
            if not pending:
                break
            name = provider.config.name
            last = position == len(self.tiers) - 1
            if not last and not health.breaker_allows(name):
                tracker.note([i.id for i in pending], f"{name}: skipped, circuit open")
                continue
            leftover: list[Item] = []
            for batch in self._batches(provider.config, pending, solo=solo):
                if before_call is not None:
                    before_call()
                leftover += self._on_tier(provider, batch, result, tracker)
            pending = leftover
        if pending and self.classifier:
            self._answer_alone(pending, result, tracker)
            pending = []
        for item in pending:
            result.failed[item.id] = tracker.fallbacks.get(item.id, [])
        return result

    def _predict(self, items: list[Item]) -> tuple[list, int]:
        """The classifier's predictions for `items`, and how long they took (ms)."""
        started = time.perf_counter()
        predictions = self.classifier.predict([item.text for item in items])
        return predictions, int((time.perf_counter() - started) * 1000)

    def _take_confident(self, items: list[Item], result: ChainResult) -> list[Item]:
        """Answer the tweets the classifier is sure of; return the others, for the LLM tiers."""
        predictions, latency_ms = self._predict(items)
        taken = [(item, p) for item, p in zip(items, predictions, strict=True) if p.confident]
        for item, prediction in taken:
            self._classifier_outcome(item, prediction, result, latency_ms=latency_ms, batch=len(items), fallbacks=[])
        if taken:
            record_saving([item for item, _ in taken], model=self.classifier.name,
                          first_tier=self.tiers[0].config if self.tiers else None)
        answered = {item.id for item, _ in taken}
        return [item for item in items if item.id not in answered]

    def _answer_alone(self, items: list[Item], result: ChainResult, tracker: _Tracker) -> None:
        """Every LLM tier failed on these: the classifier's answer, sure or not, flagged as such."""
        predictions, latency_ms = self._predict(items)
        for item, prediction in zip(items, predictions, strict=True):
            fallbacks = [*tracker.fallbacks.get(item.id, []), CLASSIFIER_ALONE]
            self._classifier_outcome(item, prediction, result, latency_ms=latency_ms, batch=len(items),
                                     fallbacks=fallbacks)

    def _classifier_outcome(self, item: Item, prediction, result: ChainResult, *, latency_ms: int, batch: int,
                            fallbacks: list[str]) -> None:
        outcome = Outcome(analysis=prediction.analysis(), provider=classifier.TIER, model=self.classifier.name,
                          tokens_in=0, tokens_out=0, latency_ms=latency_ms, attempts=1, batch_size=batch,
                          fallbacks=fallbacks, confidence=prediction.confidence, unsure=prediction.unsure_fields)
        result.analysed[item.id] = outcome
        if result.on_analysed:
            result.on_analysed(item.id, outcome)

    def _batches(self, config: TierSettings, items: list[Item], *, solo: bool) -> list[list[Item]]:
        """Consecutive batches of at most batch_size tweets and batch_token_budget prompt tokens."""
        size = 1 if solo else max(1, config.batch_size)
        budget = config.batch_token_budget - prompts.estimated_tokens(prompts.system_prompt())
        batches: list[list[Item]] = []
        current: list[Item] = []
        used = 0
        for item in items:
            cost = _item_tokens(item)
            if current and (len(current) >= size or used + cost > budget):
                batches.append(current)
                current, used = [], 0
            current.append(item)
            used += cost
        if current:
            batches.append(current)
        return batches

    def _on_tier(self, provider: Provider, batch: list[Item], result: ChainResult, tracker: _Tracker) -> list[Item]:
        """Analyse one batch on one tier; returns the items that must go on to the next tier."""
        name = provider.config.name
        ids = [item.id for item in batch]
        try:
            answer = self._ask(provider, batch, tracker)
        except ProviderFailure as failure:
            tracker.note(ids, f"{name}: {failure.kind}")
            health.record_failure(name, str(failure))
            return batch
        if answer.valid or not answer.invalid:
            health.record_success(name)
        else:  # it answers, but nothing usable even after repair: as good as down
            health.record_failure(name, f"{FailureKind.BAD_ANSWER}: {next(iter(answer.invalid.values()))}")
        self._collect(provider.config, batch, answer, result, tracker)
        tracker.note(list(answer.invalid), f"{name}: {FailureKind.BAD_ANSWER}")
        return [item for item in batch if item.id in answer.invalid]

    def _ask(self, provider: Provider, batch: list[Item], tracker: _Tracker) -> _Answer:
        """One call (plus bounded 429 retries), then one repair call if some answers are invalid."""
        single = len(batch) == 1
        shots = corrections.select([item.text for item in batch], language=_language_of(batch))
        messages = prompts.single_messages(batch[0], shots) if single else prompts.batch_messages(batch, shots)
        answer_schema = schema.json_schema() if single else schema.batch_json_schema()
        max_tokens = prompts.answer_tokens(len(batch))
        completion = self._call(provider, batch, messages, answer_schema, max_tokens, tracker, logprobs=single)
        answer = _Answer(completions=[completion])
        _read(completion, batch, answer, batched=not single)
        if single and provider.config.second_pass_below > 0 and batch[0].id in answer.valid:
            self._second_opinion(provider, batch[0], answer, tracker)
        if not answer.invalid:
            return answer
        retry = [item for item in batch if item.id in answer.invalid]
        problems = [f"{item_id}: {'; '.join(p)}" if not single else "; ".join(p)
                    for item_id, p in answer.invalid.items()]
        grow = 2 if completion.finish_reason == "length" else 1
        repaired = self._call(provider, retry, prompts.repair_messages(messages, completion.content, problems),
                              answer_schema, max_tokens * grow, tracker)
        answer.completions.append(repaired)
        second = _Answer()
        _read(repaired, retry, second, batched=not single)
        answer.valid.update(second.valid)
        answer.invalid = {i: p for i, p in answer.invalid.items() if i not in second.valid}
        return answer

    def _second_opinion(self, provider: Provider, item: Item, answer: _Answer, tracker: _Tracker) -> None:
        """Replace an uncertain sentiment by the settled one (see analysis/second_opinion.py).
        A failed second call changes nothing: the first answer stands."""
        first = second_opinion.distribution(answer.completions[0])
        if first is None or max(first.values()) >= provider.config.second_pass_below:
            return
        try:
            second = self._call(provider, [item], prompts.sentiment_messages(item), second_opinion.answer_schema(),
                                12, tracker, logprobs=True)
        except ProviderFailure:
            return
        answer.completions.append(second)
        settled = second_opinion.settle(first, second)
        if settled:
            answer.valid[item.id] = dataclasses.replace(answer.valid[item.id], sentiment=settled)

    def _call(self, provider: Provider, batch: list[Item], messages: list[dict], answer_schema: dict,
              max_tokens: int, tracker: _Tracker, *, logprobs: bool = False) -> Completion:
        """A call with bounded retries on 429, honouring Retry-After; other failures propagate."""
        config = provider.config
        for attempt in range(config.max_retries + 1):
            for item in batch:
                tracker.attempts[item.id] += 1
            try:
                completion = provider.complete(messages=messages, schema=answer_schema, max_tokens=max_tokens,
                                               logprobs=logprobs)
            except ProviderFailure as failure:
                health.record_cost(tier=config, model=config.model, items=0, tokens_in=0, tokens_out=0,
                                   unbatched_tokens_in=0, failed=True)
                if failure.kind != FailureKind.RATE_LIMITED or attempt == config.max_retries:
                    raise
                wait = failure.retry_after if failure.retry_after is not None else 2 ** attempt
                if wait > config.max_retry_after_s:
                    raise
                time.sleep(wait)
                continue
            health.record_cost(tier=config, model=completion.model, items=len(batch),
                               tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
                               unbatched_tokens_in=_unbatched_estimate(messages, batch, completion.tokens_in))
            return completion
        raise AssertionError("unreachable")

    def _collect(self, config: TierSettings, batch: list[Item], answer: _Answer, result: ChainResult,
                 tracker: _Tracker) -> None:
        tokens_in = sum(c.tokens_in for c in answer.completions)
        tokens_out = sum(c.tokens_out for c in answer.completions)
        latency_ms = int(sum(c.latency_s for c in answer.completions) * 1000)
        model = answer.completions[-1].model
        share = len(batch)
        for item_id, analysis in answer.valid.items():
            confidence = (certainty.confidences(answer.completions[0], analysis.labels()) if len(batch) == 1
                          else {})
            outcome = Outcome(
                analysis=analysis, provider=config.name, model=model, tokens_in=round(tokens_in / share),
                tokens_out=round(tokens_out / share), latency_ms=latency_ms, attempts=tracker.attempts[item_id],
                batch_size=len(batch), fallbacks=tracker.fallbacks.get(item_id, []), confidence=confidence)
            result.analysed[item_id] = outcome
            if result.on_analysed:
                result.on_analysed(item_id, outcome)
        for item_id, why in answer.misaligned.items():
            result.requeued[item_id] = f"{config.name}: {why}"


def record_saving(items: list[Item], *, model: str, first_tier: TierSettings | None) -> None:
    """What the first LLM tier would have spent on tweets the fast tier was sure of: its
    share of the instructions per tweet at its batch size, the tweet, the answer."""
    if first_tier is None or not items:
        return
    size = max(1, first_tier.batch_size)
    per_tweet_prompt = prompts.estimated_tokens(prompts.system_prompt()) / size + prompts.ANSWER_TOKENS_PER_ITEM
    tokens = sum(_item_tokens(item) + per_tweet_prompt for item in items)
    health.record_saved(tier=classifier.TIER, model=model, items=len(items), llm_calls_saved=-(-len(items) // size),
                        tokens_saved=round(tokens))


def _read(completion: Completion, batch: list[Item], answer: _Answer, *, batched: bool) -> None:
    """Sort a completion's content into valid, invalid and misaligned answers, by id."""
    ids = [item.id for item in batch]
    if completion.finish_reason == "length":
        salvaged = None if batched else _salvage_cut_summary(completion.content)
        if salvaged is None:
            answer.invalid.update({i: ["the answer was cut by max_tokens"] for i in ids})
        else:
            _validate_into(ids[0], salvaged, answer)
        return
    try:
        # strict=False: small models put raw newlines inside strings; the text is still usable.
        document = json.loads(completion.content, strict=False)
    except ValueError as error:
        answer.invalid.update({i: [f"not valid JSON ({error})"] for i in ids})
        return
    if not batched:
        _validate_into(ids[0], document, answer)
        return
    entries = document.get("items") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        answer.invalid.update({i: ["the answer has no items array"] for i in ids})
        return
    by_id: dict[str, list] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            by_id.setdefault(entry["id"].strip(), []).append(entry)
    for item_id in ids:
        found = by_id.get(item_id, [])
        if len(found) == 1:
            _validate_into(item_id, found[0], answer)
        else:
            answer.misaligned[item_id] = "missing from the batch answer" if not found else "answered twice"


def _salvage_cut_summary(content: str) -> dict | None:
    """A single answer cut by max_tokens inside its summary (the last field: small models
    can ramble or loop there) still holds every label: close the string and keep it; the
    validator shortens the summary. Anything else cut is not guessed at."""
    if '"summary"' not in content or content.rstrip().endswith("}"):
        return None
    try:
        document = json.loads(content.rstrip().rstrip("\\") + '"}', strict=False)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _validate_into(item_id: str, document: object, answer: _Answer) -> None:
    try:
        answer.valid[item_id] = vocabulary.validate(document)
    except vocabulary.InvalidAnalysis as invalid:
        answer.invalid[item_id] = invalid.problems


def _item_tokens(item: Item) -> int:
    """A tweet's share of a batched prompt: its text and the JSON line around it."""
    return prompts.estimated_tokens(item.text) + 12


def _language_of(batch: list[Item]) -> str | None:
    """The batch's language when all its tweets share one (corrections are curated per language)."""
    languages = {item.language for item in batch}
    return languages.pop() if len(languages) == 1 else None


def _unbatched_estimate(messages: list[dict], batch: list[Item], tokens_in: int) -> int:
    """Prompt tokens this batch would have cost at one tweet per call: the fixed part of the
    prompt (its share of characters, priced at this call's tokens per character) once per tweet."""
    if len(batch) <= 1 or not tokens_in:
        return tokens_in
    total_chars = sum(len(m["content"]) for m in messages) or 1
    item_chars = sum(len(item.text) for item in batch)
    fixed_tokens = tokens_in * max(0, total_chars - item_chars) / total_chars
    return round(tokens_in + fixed_tokens * (len(batch) - 1))


def tier_configs() -> list[TierSettings]:
    """The enabled tiers, in order, from settings.DALLOSH_ANALYSIS."""
    config = settings.DALLOSH_ANALYSIS
    unknown = [name for name in config.tiers if name not in config.providers]
    if unknown:
        raise ValueError(f"unknown analysis tier {unknown[0]!r}; known: {', '.join(config.providers)}")
    return [config.providers[name] for name in config.tiers if config.providers[name].enabled]


def default_chain(*, only: str | None = None, llm_only: bool = False) -> ProviderChain:
    """The configured chain; its LLM tiers alone (`llm_only`, to refine what the fast tier
    was unsure of); or just one tier (`only`, e.g. for evaluation)."""
    configs = tier_configs()
    if only == classifier.TIER:
        trained = classifier.active()
        if trained is None:
            raise ValueError("the fast tier is off (DALLOSH_FAST_TIER) or has no heads")
        return ProviderChain([], classifier=trained)
    if only:
        configs = [c for c in configs if c.name == only]
        if not configs:
            raise ValueError(f"tier {only!r} is not enabled; enabled: {', '.join(c.name for c in tier_configs())}")
        return ProviderChain([_provider(c) for c in configs])
    return ProviderChain([_provider(c) for c in configs], classifier=None if llm_only else classifier.active())


def _provider(config: TierSettings) -> Provider:
    if config.name == "local":
        from analysis.local_model import LocalModelProvider

        return LocalModelProvider(config)
    return build_provider(config)
