"""Analysis reads: provider status (circuit breakers) and the cost ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from analysis.chain import tier_configs
from analysis.models import CostLedgerDay, ProviderHealth


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
