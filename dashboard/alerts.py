"""Alerts: the rules managers set (dashboard.models.AlertRule) checked every minute against
the figures (an outage burst, a team's backlog, SLA breaches, the share of high urgency);
an alert is raised once, refreshed while its finding holds, closed when it no longer does,
and published live to managers and the team concerned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dallosh import live, vocabulary
from dashboard.alert_texts import stored_message
from dashboard.kpis import bucket_start, buckets_between, parse_cell
from dashboard.models import Alert, AlertKind, AlertRule
from tickets import store
from tickets.models import TicketStatus
from tickets.selectors import backlog, breached_open

# An outage: a burst of negative tweets about the network, for the team that handles it.
OUTAGE_TOPIC = vocabulary.NETWORK
OUTAGE_TEAM = vocabulary.TOPIC_TEAM[OUTAGE_TOPIC]
OUTAGE_WATCH_FIELDS = {"team": 1, "topic": 1, "sentiment": 1, "urgency": 1, "language": 1, "subject": 1, "status": 1,
                "created_at": 1, "analysis.input_text": 1}
BASELINE_HOURS = 24
MAX_ALERT_TICKETS = 500


@dataclass
class Finding:
    """A rule's condition holding now: what to tell people."""

    message: str
    figures: dict
    team: str | None = None
    groups: dict = field(default_factory=dict)
    ticket_ids: list[str] = field(default_factory=list)


def open_alerts(*, fields: dict, most: int = 200) -> list[dict]:
    """The open alerts, newest first (a handful: an alert closes when its cause goes)."""
    return list(Alert._get_collection().find({"open": True}, fields).sort("raised_at", -1).limit(most))


def evaluate_alerts(*, now: datetime | None = None) -> list[dict]:
    """Check every active rule (every minute, on a worker): raise an alert when its condition
    starts holding, refresh it while it holds, close it when it clears. Returns the alerts
    raised or closed."""
    now = now or datetime.now(UTC)
    changed = []
    for rule in AlertRule.objects.filter(active=True):
        finding = CHECKS[rule.kind](rule, now)
        current = Alert._get_collection().find_one({"rule_id": rule.id, "open": True})
        if finding and current is None:
            changed.append(_raise(rule, finding, now))
        elif finding:
            _refresh(current, finding, now)
        elif current is not None:
            changed.append(_close(current, now))
    return changed


def acknowledge_alert(*, alert_id: str, user) -> dict | None:
    """A person has seen it (who and when); it stays open until its condition clears."""
    from bson import ObjectId
    from bson.errors import InvalidId

    try:
        key = ObjectId(alert_id)
    except InvalidId:
        return None
    alert = Alert._get_collection().find_one_and_update(
        {"_id": key, "acknowledged_by": None},
        {"$set": {"acknowledged_by": user.get_username(), "acknowledged_at": datetime.now(UTC)}},
        return_document=True)
    if alert:
        _publish(alert, "acknowledged")
    return alert


def _raise(rule, finding: Finding, now: datetime) -> dict:
    alert = {"rule_id": rule.id, "rule_name": rule.name, "kind": rule.kind, "team": finding.team,
             "message": finding.message, "figures": finding.figures, "groups": finding.groups,
             "ticket_ids": finding.ticket_ids, "raised_at": now, "updated_at": now, "open": True,
             "closed_at": None, "acknowledged_by": None}
    alert["_id"] = Alert._get_collection().insert_one(alert).inserted_id
    _publish(alert, "raised")
    return alert


def _refresh(alert: dict, finding: Finding, now: datetime) -> None:
    changes = {"message": finding.message, "figures": finding.figures, "groups": finding.groups,
               "ticket_ids": finding.ticket_ids, "updated_at": now}
    Alert._get_collection().update_one({"_id": alert["_id"]}, {"$set": changes})
    if finding.ticket_ids != alert.get("ticket_ids"):
        _publish({**alert, **changes}, "updated")


def _close(alert: dict, now: datetime) -> dict:
    Alert._get_collection().update_one({"_id": alert["_id"]}, {"$set": {"open": False, "closed_at": now}})
    alert = {**alert, "open": False, "closed_at": now}
    _publish(alert, "closed")
    return alert


def _publish(alert: dict, action: str) -> None:
    groups = {live.ALERTS_MANAGERS}
    if alert.get("team"):
        groups.add(live.alerts_team_group(alert["team"]))
    live.publish(groups, {"type": live.ALERT_CHANGED, "id": str(alert["_id"]), "action": action,
                          "kind": alert["kind"], "team": alert.get("team"), "message": alert["message"]})


def _recent_tickets(since: datetime) -> list[dict]:
    """Analysed tickets whose customer wrote since then (the created_at index bounds the read)."""
    return [t for t in store.select({"created_at": {"$gte": since}}, projection=OUTAGE_WATCH_FIELDS)
            if t.get("topic") and t.get("status") != TicketStatus.MERGED]


def _check_high_urgency_share(rule, now: datetime) -> Finding | None:
    recent = [t for t in _recent_tickets(now - timedelta(minutes=rule.window_minutes))
              if not rule.team or t.get("team") == rule.team]
    high = sum(t.get("urgency") == "high" for t in recent)
    share = 100 * high / len(recent) if recent else 0
    if len(recent) < rule.min_tickets or share <= rule.threshold:
        return None
    return _finding(rule, {"tickets": len(recent), "high": high, "share": round(share, 1)}, team=rule.team or None)


def _check_team_backlog(rule, now: datetime) -> Finding | None:
    counts = backlog()
    teams = [rule.team] if rule.team else sorted(counts)
    total = sum(sum(counts.get(team, {}).values()) for team in teams)
    if total <= rule.threshold:
        return None
    return _finding(rule, {"open": total}, team=rule.team or None)


def _check_sla_breaches(rule, now: datetime) -> Finding | None:
    breached = breached_open(team=rule.team or None)
    if breached <= rule.threshold:
        return None
    return _finding(rule, {"breached": breached}, team=rule.team or None)


def _check_outage_burst(rule, now: datetime) -> Finding | None:
    """Network complaints in the window against their usual rate over the day before."""
    since = now - timedelta(minutes=rule.window_minutes)
    burst = [t for t in _recent_tickets(since)
             if t["topic"] == OUTAGE_TOPIC and t.get("sentiment") == vocabulary.NEGATIVE]
    usual_per_hour = _hourly_rate(topic=OUTAGE_TOPIC, sentiment=vocabulary.NEGATIVE, before=since, hours=BASELINE_HOURS)
    expected = usual_per_hour * rule.window_minutes / 60
    if len(burst) < rule.min_tickets or len(burst) <= rule.threshold * max(expected, 1.0):
        return None
    groups = _group_burst(burst, rule.region_keywords)
    top = ", ".join(f"{name.split(':', 1)[1]} {len(ids)}" for name, ids in list(groups.items())[:4])
    return _finding(rule, {"complaints": len(burst), "usual": round(expected, 2),
                           "usual_per_hour": round(usual_per_hour, 2), "top": top},
                    team=OUTAGE_TEAM, groups=groups,
                    ticket_ids=[t["_id"] for t in sorted(burst, key=lambda t: t["created_at"])][:MAX_ALERT_TICKETS])


def _finding(rule, figures: dict, **found) -> Finding:
    """A rule's finding with its figures, the rule's window and threshold among them, and its
    sentence (dashboard/alert_texts.py) in English as the alert stores it."""
    figures = {**figures, "window": rule.window_minutes, "threshold": f"{rule.threshold:g}"}
    message = stored_message(kind=rule.kind, figures=figures, team=found.get("team"))
    return Finding(message=message, figures=figures, **found)


def _hourly_rate(*, topic: str, sentiment: str, before: datetime, hours: int) -> float:
    """Tickets per hour of this topic and sentiment over the `hours` whole hours before the one
    holding `before` (hour rollups; the hour in progress would mix the burst into its baseline)."""
    end = bucket_start(before, "h")
    total = 0
    for bucket in buckets_between(grain="h", start=end - timedelta(hours=hours), end=end, fields={"cells": 1}):
        for key, counters in bucket.get("cells", {}).items():  # every channel: an outage shows in all
            cell = parse_cell(key)
            if cell.topic == topic and cell.sentiment == sentiment:
                total += counters.get("tickets", 0)
    return total / hours


def _group_burst(tickets: list[dict], region_keywords: str) -> dict[str, list[str]]:
    """The burst's tickets by language and by the places they name, largest group first."""
    places = [k.strip().casefold() for k in region_keywords.split(",") if k.strip()]
    groups: dict[str, list[str]] = {}
    for ticket in tickets:
        groups.setdefault(f"language:{ticket.get('language') or vocabulary.UNKNOWN_LANGUAGE}", []).append(ticket["_id"])
        text = f"{ticket.get('subject') or ''} {(ticket.get('analysis') or {}).get('input_text') or ''}".casefold()
        for place in places:
            if place in text:
                groups.setdefault(f"region:{place}", []).append(ticket["_id"])
    return dict(sorted(groups.items(), key=lambda item: -len(item[1])))


CHECKS = {
    AlertKind.HIGH_URGENCY_SHARE: _check_high_urgency_share,
    AlertKind.TEAM_BACKLOG: _check_team_backlog,
    AlertKind.SLA_BREACHES: _check_sla_breaches,
    AlertKind.OUTAGE_BURST: _check_outage_burst,
}
