"""Analysis reads: provider status (circuit breakers), the cost ledger, what the fast tier
learns from, and the analysis backlog."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from analysis.chain import tier_configs
from analysis.classifier import FIELDS, SOURCE_WEIGHTS, STARTER_FILE, TIER, Example
from analysis.models import ClassifierVersion, CostLedgerDay, ProviderHealth
from dallosh.mongo import as_utc
from dallosh.vocabulary import CORRECTED_FIELDS, labels_in_force
from tickets import selectors as ticket_selectors
from tickets import store


@dataclass(frozen=True)
class ProviderStatus:
    tier: str
    model: str
    state: str  # closed (answering) | open (skipped until open_until) | unknown (not called yet)
    open_until: datetime | None
    consecutive_failures: int
    last_failure: str | None
    last_success_at: datetime | None


def provider_status() -> list[ProviderStatus]:
    """Each enabled tier, in chain order, with its breaker state."""
    health = {h.id: h for h in ProviderHealth.objects.all()}
    now = datetime.now(UTC)
    statuses = []
    for config in tier_configs():
        h = health.get(config.name)
        open_until = as_utc(h.open_until) if h and h.open_until else None
        state = "unknown" if h is None else "open" if open_until and open_until > now else "closed"
        statuses.append(ProviderStatus(config.name, config.model, state, open_until,
                                       h.consecutive_failures if h else 0, h.last_failure if h else None,
                                       h.last_success_at if h else None))
    return statuses


def ledger_between(*, start: datetime | None, end: datetime) -> list[dict]:
    """LLM calls, tokens and cost per provider and model, on the days the calls were made
    from `start` (None: the first) to `end`."""
    totals: dict[tuple[str, str], Counter] = {}
    first_day = f"{start:%Y-%m-%d}" if start else ""
    for line in CostLedgerDay.objects(day__gte=first_day, day__lte=f"{end:%Y-%m-%d}"):
        row = totals.setdefault((line.provider, line.model), Counter())
        for name in ("calls", "items", "tokens_in", "tokens_out", "cost_usd", "unbatched_cost_usd"):
            row[name] += getattr(line, name) or 0
    return [{"provider": provider, "model": model, **row} for (provider, model), row in sorted(totals.items())]


def ledger(*, days: int = 7) -> list[CostLedgerDay]:
    """The last `days` days of the cost ledger, newest first."""
    recent = sorted({line.day for line in CostLedgerDay.objects.only("day")}, reverse=True)[:days]
    return list(CostLedgerDay.objects(day__in=recent).order_by("-day", "provider"))


@dataclass(frozen=True)
class FastTierStatus:
    version: int
    encoder: str
    shipped: bool  # the starter heads that ship with the project (no training here yet)
    sources: dict[str, int]
    sure_share: float  # held-out tweets sure on every field: final without the LLM
    agreement: dict[str, float]


def fast_tier_status() -> FastTierStatus | None:
    """The heads labelling tickets now, with what they learned from and their held-out
    figures; None when the fast tier is off."""
    if not settings.DALLOSH_ANALYSIS.fast_tier:
        return None
    record = ClassifierVersion.objects(active=True).order_by("-activated_at").exclude("blob_id").first()
    if record is not None:
        return FastTierStatus(record.version, record.encoder or "", False, record.sources or {},
                              record.accepted_share, record.agreement)
    shipped = STARTER_FILE.with_suffix(".json")
    if not shipped.is_file():
        return None
    facts = json.loads(shipped.read_text(encoding="utf-8"))
    return FastTierStatus(facts["version"], facts["encoder"], True, facts["sources"], facts["sure_share"],
                          facts["agreement"])


@dataclass(frozen=True)
class VersionRow:
    version: int
    created_at: datetime | None
    active: bool
    sources: dict[str, int]
    corrections: int
    slice_score: float | None  # mean agreement on the evaluation slice of the labelled set


def classifier_versions() -> list[VersionRow]:
    """Every stored version, newest first, then the shipped starter (active when no stored
    version is)."""
    stored = list(ClassifierVersion.objects.exclude("blob_id").order_by("-version"))
    rows = [VersionRow(v.version, v.created_at, bool(v.active), v.sources or {}, v.corrections, v.slice_score)
            for v in stored]
    shipped = STARTER_FILE.with_suffix(".json")
    if shipped.is_file():
        facts = json.loads(shipped.read_text(encoding="utf-8"))
        rows.append(VersionRow(facts["version"], None, not any(v.active for v in stored), facts["sources"], 0,
                               facts.get("evaluation_slice", {}).get("score")))
    return rows


COUNT_CAP = 100_000  # beyond this the overview says "100,000+": a count is not worth a long scan


@dataclass(frozen=True)
class AnalysisBacklog:
    awaiting_labelling: int
    awaiting_refinement: int
    labelled_last_minute: int  # by the fast tier
    refined_last_minute: int  # by an LLM tier
    # unsure, queued for no LLM tier: none is expected to beat the heads on their doubted fields
    unsure_not_queued: int = 0
    cap: int = COUNT_CAP


def analysis_backlog(*, now: datetime | None = None) -> AnalysisBacklog:
    """How many tickets wait for the fast tier and for the LLM, the rate of each, and how
    many unsure ones wait for no tier, none being expected to do better than the heads (on
    indexes: the waiting flags, the analysis time, Ticket.no_better_tier's partial one)."""
    now = now or datetime.now(UTC)
    recent = {"analysis.analysed_at": {"$gte": now - timedelta(minutes=1)}}
    return AnalysisBacklog(
        awaiting_labelling=store.count({"needs_analysis": True}, cap=COUNT_CAP),
        awaiting_refinement=store.count({"needs_refinement": True}, cap=COUNT_CAP),
        labelled_last_minute=store.count({**recent, "analysis.provider": TIER}, cap=COUNT_CAP),
        refined_last_minute=store.count({**recent, "analysis.provider": {"$ne": TIER}}, cap=COUNT_CAP),
        unsure_not_queued=store.count({"no_better_tier": True, "unsure": True}, cap=COUNT_CAP))


def training_examples(*, limit: int = 200_000) -> list[Example]:
    """What this install teaches the fast tier: tickets the LLM tiers labelled (never the
    fast tier's own answers, which would only teach it itself) and agents' corrections
    (weighed highest), read one indexed day at a time up to `limit`. Only the correction in
    force teaches: a withdrawn one sits in the ticket's history, which the LABELS projection
    does not read, and the ticket teaches as any other (what an LLM tier said, if one did)."""
    llm_tiers = set(settings.DALLOSH_ANALYSIS.providers) - {TIER}
    examples: list[Example] = []
    for ticket in store.scan_by_created_day(projection=store.Projection.LABELS):
        analysis, correction = ticket.get("analysis") or {}, ticket.get("correction")
        if not analysis.get("input_text") or (analysis.get("provider") not in llm_tiers and not correction):
            continue
        source = "correction" if correction else "refined"
        labels = learned_labels(analysis, correction)
        if not correction and analysis.get("fast_labels") is not None:
            # a refinement: the LLM settled only refine_fields; the rest are the heads' own
            labels = {f: v for f, v in labels.items() if f in analysis["refine_fields"]}
        if labels:
            examples.append(Example(id=ticket["_id"], text=analysis["input_text"], labels=labels,
                                    weight=SOURCE_WEIGHTS[source], source=source,
                                    author=(correction or {}).get("by")))
        if len(examples) >= limit:
            break
    return examples


def learned_labels(analysis: dict, correction: dict | None = None) -> dict[str, str]:
    """The labels a ticket teaches (the agent's correction over the model's answer), as
    class names: actionable becomes "true" or "false"."""
    labels = labels_in_force(analysis, correction)
    return {f: str(labels[f]).lower() if f == "actionable" else labels[f] for f in FIELDS}


@dataclass(frozen=True)
class Agreement:
    """How often one tier's answers matched what agents corrected them to, for one field."""

    period: str  # the week's Monday, YYYY-MM-DD ("all" for the whole range)
    provider: str
    field: str
    agreed: int
    total: int

    @property
    def share(self) -> float:
        return self.agreed / self.total if self.total else 0.0


def agreement_with_agents(*, since: datetime, until: datetime | None = None, weekly: bool = True) -> list[Agreement]:
    """Per week (or over the whole range) × tier × field: the model's answer against the
    agent's correction. A correction that keeps a field as it was counts as agreement."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for ticket in ticket_selectors.corrected_tickets(since=since, until=until):
        analysis, correction = ticket.get("analysis") or {}, ticket["correction"]
        at = correction["at"]
        period = (at - timedelta(days=at.weekday())).strftime("%Y-%m-%d") if weekly else "all"
        for field in CORRECTED_FIELDS:
            tally = counts.setdefault((period, analysis.get("provider") or "?", field), [0, 0])
            tally[0] += analysis.get(field) == correction.get(field)
            tally[1] += 1
    return [Agreement(period, provider, field, agreed, total)
            for (period, provider, field), (agreed, total) in sorted(counts.items())]
