"""Analysis reads: provider status (circuit breakers), the cost ledger, what the classifier learns from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings

from analysis.chain import tier_configs
from analysis.classifier import CORRECTION_WEIGHT, Example, labels_of
from analysis.corrections import CORRECTED_FIELDS
from analysis.models import ClassifierVersion, CostLedgerDay, ProviderHealth
from dallosh.bulk import scan_by_day
from tickets.models import Ticket


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
        open_until = h.open_until.replace(tzinfo=UTC) if h and h.open_until else None
        state = "unknown" if h is None else "open" if open_until and open_until > now else "closed"
        statuses.append(ProviderStatus(config.name, config.model, state, open_until,
                                       h.consecutive_failures if h else 0, h.last_failure if h else None,
                                       h.last_success_at if h else None))
    return statuses


def ledger(*, days: int = 7) -> list[CostLedgerDay]:
    """The last `days` days of the cost ledger, newest first."""
    recent = sorted({line.day for line in CostLedgerDay.objects.only("day")}, reverse=True)[:days]
    return list(CostLedgerDay.objects(day__in=recent).order_by("-day", "provider"))


def classifier_status() -> ClassifierVersion | None:
    """The active classifier version with its held-out figures, for the overview."""
    return ClassifierVersion.objects(active=True).exclude("blob_id").first()


def training_examples(*, limit: int = 200_000) -> list[Example]:
    """What the classifier learns from: tickets the LLM tiers analysed (never its own
    answers, which would only teach it itself), read one indexed day at a time up to
    `limit`; agents' corrections weigh CORRECTION_WEIGHT."""
    llm_tiers = set(settings.DALLOSH_ANALYSIS["PROVIDERS"])  # the LLM tiers the project knows, never the classifier
    examples: list[Example] = []
    projection = {"analysis": 1, "correction": 1}
    for ticket in scan_by_day(Ticket._get_collection(), field="created_at", projection=projection):
        analysis = ticket.get("analysis") or {}
        if analysis.get("provider") not in llm_tiers or not analysis.get("input_text"):
            continue
        correction = ticket.get("correction")
        examples.append(Example(id=ticket["_id"], text=analysis["input_text"],
                                labels=labels_of(analysis, correction),
                                weight=CORRECTION_WEIGHT if correction else 1.0))
        if len(examples) >= limit:
            break
    return examples


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


def corrected_tickets(*, since: datetime, until: datetime | None = None) -> list[dict]:
    """Tickets an agent corrected in the range (an indexed range on the correction's time:
    corrections are a person's work, thousands, never millions)."""
    query: dict = {"$gte": since}
    if until is not None:
        query["$lt"] = until
    return list(Ticket._get_collection().find({"correction.at": query},
                                              {"analysis": 1, "correction": 1, "language": 1}))


def agreement_with_agents(*, since: datetime, until: datetime | None = None, weekly: bool = True) -> list[Agreement]:
    """Per week (or over the whole range) × tier × field: the model's answer against the
    agent's correction. A correction that keeps a field as it was counts as agreement."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for ticket in corrected_tickets(since=since, until=until):
        analysis, correction = ticket.get("analysis") or {}, ticket["correction"]
        at = correction["at"]
        period = (at - timedelta(days=at.weekday())).strftime("%Y-%m-%d") if weekly else "all"
        for field in CORRECTED_FIELDS:
            tally = counts.setdefault((period, analysis.get("provider") or "?", field), [0, 0])
            tally[0] += analysis.get(field) == correction.get(field)
            tally[1] += 1
    return [Agreement(period, provider, field, agreed, total)
            for (period, provider, field), (agreed, total) in sorted(counts.items())]
