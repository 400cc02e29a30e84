"""Each tier's scorecard, and what it decides: which doubted fields go to the LLM.

A scorecard is one tier's accuracy per field (and per language) on a fixed sample of the
labelled set (analysis/training_data.scorecard_sample: a few hundred tweets of the slice no
training sees, half English, half French), for one model at one prompt version: a tier
whose model or prompt changed is unmeasured again. `measure` runs the real tier on the
sample and stores the figures (`python manage.py score_tiers`).

The refinement queue reads them (`fields_to_refine`): the heads' calibrated probability
for a label is their expected accuracy at that confidence, so a doubted field is handed to
the LLM only where some enabled LLM tier is expected to answer it better; a tier not
measured yet (OpenAI before its first scorecard) is assumed better, and that is recorded.
Where no tier is better, nothing is queued: the doubt waits for a person (Ticket.unsure)
and the overview counts those tickets. An answer that comes back is taken only for the
fields where the tier that answered is expected to beat the heads (`better_fields`): the
chain may have fallen back to a tier that is not.

The scorecards are read once per process and again every RELOAD_EVERY_S, as the heads
are (analysis/classifier.active), so every worker follows a new measurement within a minute.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from analysis import classifier, prompts, training_data
from analysis.chain import ProviderChain, default_chain, tier_configs
from analysis.classifier import FIELDS, Example
from analysis.models import TierScorecard
from analysis.prompts import Item
from dallosh.bulk import slices
from dallosh.conf import TierSettings

CHUNK = 20  # tweets handed to the chain at a time (each tier batches them as it is configured)
RELOAD_EVERY_S = 60
NO_PROMPT = "-"  # the fast tier's "prompt version": the heads read no prompt
GIVEN_SAMPLE = "given"  # the name of a sample passed to `measure` rather than the fixed one
ASSUMED = "assumed"  # refine_basis's word for a tier not measured yet, counted as better


# --- measuring (the write) ------------------------------------------------------------------


def measure(*, tier: str, sample: list[Example] | None = None, size: int = training_data.SCORECARD_SAMPLE,
            progress: Callable[[int, int], None] | None = None) -> TierScorecard:
    """Run the real tier (`default_chain(only=tier)`, the fast tier with "fast") on the fixed
    sample (the first `size` tweets of the evaluation slice), or on `sample`, and store its
    accuracy per field and per language; a tweet it gives no answer for counts as wrong on
    every field, never skipped, so a tier that fails scores low rather than well on the rest.
    `progress(done, total)` is called after each chunk (the command prints it)."""
    if sample is None:
        sample = training_data.scorecard_sample(size=size)
        if not sample:
            raise ValueError(_no_sample())
        name = f"{training_data.EVALUATION_SLICE[0]}:{len(sample)}"
    elif not sample:
        raise ValueError("the sample given holds no tweet to measure on")
    else:
        name = f"{GIVEN_SAMPLE}:{len(sample)}"
    chain = default_chain(only=tier)  # ValueError: unknown or disabled tier, or no heads
    model, prompt_version = _identity(tier, chain)
    started = time.monotonic()
    answers = _answers(chain, sample, progress=progress)
    seconds = time.monotonic() - started
    accuracy, per_language = _accuracy(sample, answers)
    card = TierScorecard(id=card_id(tier=tier, model=model, prompt_version=prompt_version), tier=tier, model=model,
                         prompt_version=prompt_version, sample=name, measured_at=datetime.now(UTC),
                         tweets=len(sample), seconds=round(seconds, 1), accuracy=accuracy,
                         per_language=per_language, errors=len(sample) - len(answers)).save()
    forget_cache()
    return card


def card_id(*, tier: str, model: str, prompt_version: str) -> str:
    return f"{tier}:{model}:{prompt_version}"


def _no_sample() -> str:
    path = training_data.shared_data() / training_data.LABELLED_FILE
    if not path.is_file():
        return (f"no labelled tweets to measure on: {path} is absent (../shared/data is not beside the project; "
                "DALLOSH_SHARED_DATA names another place)")
    return f"{path} holds no tweet of the evaluation slice {training_data.EVALUATION_SLICE[0]!r} to measure on"


def _identity(tier: str, chain: ProviderChain) -> tuple[str, str]:
    """(model, prompt version) a scorecard is kept under: what expected_accuracy looks up."""
    if tier == classifier.TIER:
        return chain.classifier.name, NO_PROMPT
    return chain.tiers[0].config.model, prompts.prompt_version()


def _answers(chain: ProviderChain, sample: list[Example], *,
             progress: Callable[[int, int], None] | None) -> dict[str, dict[str, str]]:
    """Sample position -> the labels the tier answered (class names), chunk by chunk; a
    tweet a batched answer missed is asked again alone, as the workers do."""
    items = [Item(id=str(n), text=example.text, language=example.language) for n, example in enumerate(sample)]
    answers: dict[str, dict[str, str]] = {}
    done = 0
    for chunk in slices(items, CHUNK):
        result = chain.analyse(chunk)
        again = [item for item in chunk if item.id in result.requeued]
        if again:
            result.analysed.update(chain.analyse(again, solo=True).analysed)
        for item_id, outcome in result.analysed.items():
            answers[item_id] = outcome.analysis.labels()
        done += len(chunk)
        if progress:
            progress(done, len(items))
    return answers


def _accuracy(sample: list[Example], answers: dict[str, dict[str, str]]) -> tuple[dict, dict]:
    """Share right per field, overall and per language (4 decimals)."""
    right: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for n, example in enumerate(sample):
        answer = answers.get(str(n), {})
        for group in ("all", training_data.language_of(example)):
            totals[group] = totals.get(group, 0) + 1
            tally = right.setdefault(group, dict.fromkeys(FIELDS, 0))
            for field in FIELDS:
                tally[field] += answer.get(field) == example.labels.get(field)
    shares = {group: {f: round(tally[f] / totals[group], 4) for f in FIELDS} for group, tally in right.items()}
    overall = shares.pop("all")
    return overall, shares


# --- what the scorecards say (reads) ----------------------------------------------------------


_cache: dict = {"checked": 0.0, "accuracy": {}}


def _accuracies() -> dict[str, dict[str, float]]:
    """Scorecard id -> accuracy per field, read again every RELOAD_EVERY_S (a handful of documents)."""
    if time.monotonic() - _cache["checked"] >= RELOAD_EVERY_S:
        _cache.update(checked=time.monotonic(),
                      accuracy={card.id: dict(card.accuracy) for card in TierScorecard.objects.only("accuracy")})
    return _cache["accuracy"]


def forget_cache() -> None:
    _cache.update(checked=0.0, accuracy={})


def expected_accuracy(*, tier_config: TierSettings) -> dict[str, float] | None:
    """The tier's accuracy per field on its scorecard for its current model and prompt
    version; None while that is not measured."""
    return _accuracies().get(card_id(tier=tier_config.name, model=tier_config.model,
                                     prompt_version=prompts.prompt_version()))


def _llm_tiers() -> list[TierSettings]:
    return [config for config in tier_configs() if config.name != classifier.TIER]


def _basis(field: str, head: float, expected: dict[str, dict[str, float] | None]) -> dict:
    """Why `field` goes to the LLM or not: the measured tier expected to answer it best
    (and whether that beats the head), else the first unmeasured tier, assumed better."""
    measured = [(accuracy.get(field, 0.0), name) for name, accuracy in expected.items() if accuracy is not None]
    best = max(measured, default=None)
    if best is not None and best[0] > head:
        return {"tier": best[1], "expected": best[0], "head": head, "better": True}
    unmeasured = [name for name, accuracy in expected.items() if accuracy is None]
    if unmeasured:
        return {"tier": unmeasured[0], "expected": ASSUMED, "head": head, "better": True}
    return {"tier": best[1] if best else None, "expected": best[0] if best else None, "head": head, "better": False}


def fields_to_refine(*, unsure: list[str], confidence: dict[str, float]) -> tuple[list[str], dict[str, dict]]:
    """Of the heads' doubted fields, those some enabled LLM tier is expected to answer
    better than the heads at their confidence (an unmeasured tier is assumed better), and
    each doubted field's basis (field -> tier, its expected accuracy or "assumed", the
    head's confidence, whether it is handed on). The one place the refinement queue is decided."""
    expected = {config.name: expected_accuracy(tier_config=config) for config in _llm_tiers()}
    basis = {field: _basis(field, confidence.get(field, 0.0), expected) for field in unsure}
    return [field for field in unsure if basis[field]["better"]], basis


def better_fields(*, tier: str, fields: list[str], confidence: dict[str, float]) -> list[str]:
    """Of the fields an LLM answer was asked for, those where the tier that answered is
    expected to beat the heads' confidence (or is not measured, or no longer configured):
    the fields its answer is taken for."""
    config = next((c for c in _llm_tiers() if c.name == tier), None)
    accuracy = expected_accuracy(tier_config=config) if config else None
    if accuracy is None:
        return list(fields)
    return [field for field in fields if accuracy.get(field, 0.0) > confidence.get(field, 0.0)]


@dataclass(frozen=True)
class TierScore:
    """One tier as the overview shows it: its current model and prompt version, and their
    scorecard if measured."""

    tier: str
    model: str
    prompt_version: str
    card: TierScorecard | None

    @property
    def accuracies(self) -> list[float | None]:
        """Accuracy per field, in classifier.FIELDS order (as the overview's columns)."""
        return [self.card.accuracy.get(field) for field in FIELDS] if self.card else []

    @property
    def assumed_better(self) -> bool:
        """An LLM tier not measured yet: the queue counts it as better than the heads."""
        return self.card is None and self.tier != classifier.TIER


def tier_scores() -> list[TierScore]:
    """The fast tier (if on), then each enabled LLM tier in chain order, with the scorecard
    of what it runs now."""
    wanted: list[tuple[str, str, str]] = []
    heads = classifier.active()
    if heads is not None:
        wanted.append((classifier.TIER, heads.name, NO_PROMPT))
    wanted += [(c.name, c.model, prompts.prompt_version()) for c in _llm_tiers()]
    ids = [card_id(tier=t, model=m, prompt_version=p) for t, m, p in wanted]
    cards = {card.id: card for card in TierScorecard.objects(id__in=ids)}
    return [TierScore(t, m, p, cards.get(i)) for (t, m, p), i in zip(wanted, ids, strict=True)]
