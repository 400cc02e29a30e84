"""The one failure policy for what follows a write (KPI rollups, live events' side effects,
the analysis queue, learning from a correction): announced after the write committed, each
follow-up is attempted, a failing one is logged with what it was about and never stops
another nor undoes the write; the rebuilds (rebuild_kpis, rebuild_queues, the sweeper)
repair what it missed. A step the pipeline cannot do without is a call, not an announcement.
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)


def announce(signal: Signal, *, about: str, sender=None, **facts) -> None:
    """Send `signal` to every receiver, each attempted whatever the others did."""
    for receiver, outcome in signal.send_robust(sender=sender or Signal, **facts):
        if isinstance(outcome, Exception):
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("follow-up %s.%s failed for %s; the write stands, a rebuild repairs it",
                         getattr(receiver, "__module__", "?"), name, about, exc_info=outcome)
