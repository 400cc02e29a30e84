"""django-q2 tasks of the dashboard."""

from __future__ import annotations

from dashboard import alerts


def evaluate_alerts() -> int:
    """Scheduled every minute: raise, refresh or close alerts."""
    return len(alerts.evaluate_alerts())
