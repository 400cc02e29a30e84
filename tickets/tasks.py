"""django-q2 tasks for tickets."""

from __future__ import annotations

from tickets import routing, sla_watch


def reroute_open_tickets(requested_by: str) -> dict:
    result = routing.reroute_open_tickets()
    return {"requested_by": requested_by, "scanned": result.scanned, "changed": result.changed}


def flag_breaches() -> int:
    """Scheduled every minute: tickets past their response target float up, live."""
    return sla_watch.flag_breaches()
