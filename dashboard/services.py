"""KPI rollups: what the pipeline and the agents' actions add to the managers' figures.

A KPI request must not read millions of tickets, so every change to a ticket adds the
difference it makes to one document per day and one per hour (`KpiBucket`), keyed by the
day or hour the customer wrote. Inside a bucket, counters sit under a cell per
(team, topic, sentiment, urgency, language): the filters a manager can apply. A period of
60 days is 60 documents, whatever the number of tickets.

A ticket's contribution (`contribution`) is a pure function of the ticket, so a change is
"take the old contribution out, put the new one in", and `rebuild_kpis` can recompute all
of it from the tickets after a restore.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from dallosh import live
from dallosh.bulk import day_ranges, find_by_values, recount_until_settled
from dallosh.mongo import as_utc
from dallosh.vocabulary import UNKNOWN_LANGUAGE
from dashboard.alert_texts import stored_message
from dashboard.models import Alert, AlertKind, AlertRule, KpiBucket
from ingestion.selectors import first_tweet_created, tweets_created_in
from tickets import store
from tickets.models import TicketStatus
from tickets.selectors import backlog, breached_open

GRAINS = ("d", "h")
# The ticket shapes the rollups and the outage watch read (tickets/store.py).
KPI_FIELDS = {"audit": 0, "notes": 0, "tweet_ids": 0, "subject": 0, "analysis.input_text": 0}
OUTAGE_WATCH_FIELDS = {"team": 1, "topic": 1, "sentiment": 1, "urgency": 1, "language": 1, "subject": 1, "status": 1,
                "created_at": 1, "analysis.input_text": 1}


def bucket_start(moment: datetime, grain: str) -> datetime:
    moment = as_utc(moment)
    if grain == "d":
        return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return datetime(moment.year, moment.month, moment.day, moment.hour, tzinfo=UTC)


def bucket_id(start: datetime, grain: str) -> str:
    return f"{grain}:{start:%Y-%m-%dT%H}"


def cell_key(*, team: str, topic: str, sentiment: str, urgency: str, language: str | None) -> str:
    return "|".join((team, topic, sentiment, urgency, language or UNKNOWN_LANGUAGE))


def contribution(ticket: dict | None) -> tuple[datetime, str, dict[str, float]] | None:
    """What one ticket adds to the figures: None until it is analysed and routed, and once merged."""
    if (not ticket or not ticket.get("analysis") or not ticket.get("team") or not ticket.get("urgency")
            or ticket.get("status") == TicketStatus.MERGED):
        return None
    created = ticket["created_at"]
    counters: dict[str, float] = {
        "tickets": 1,
        "open": int(ticket["status"] in TicketStatus.OPEN),
        "resolved": int(ticket["status"] == TicketStatus.RESOLVED),
        "breached": int(ticket.get("sla_state") == "breached"),
        "corrected": int(bool(ticket.get("correction"))),
        f"provider:{ticket['analysis'].get('provider') or 'unknown'}": 1,
    }
    response_at = min((t for t in (ticket.get("first_brand_reply_at"), ticket.get("responded_at")) if t),
                      default=None)
    if response_at and response_at >= created:
        counters |= {"responded": 1, "response_s": _seconds(created, response_at)}
    if ticket["status"] == TicketStatus.RESOLVED and ticket.get("resolved_at") and ticket["resolved_at"] >= created:
        counters["resolution_s"] = _seconds(created, ticket["resolved_at"])
    key = cell_key(team=ticket["team"], topic=ticket.get("topic") or ticket["analysis"]["topic"],
                   sentiment=ticket.get("sentiment") or ticket["analysis"]["sentiment"],
                   urgency=ticket["urgency"], language=ticket.get("language"))
    return created, key, counters


Sums = dict[tuple[datetime, str], Counter]  # (bucket start, grain) → counter path → amount


def record_ticket_change(*, before: dict | None, after: dict | None) -> None:
    """Move the ticket's contribution from what it was to what it is (after the write)."""
    record_ticket_changes(pairs=[(before, after)])


def record_ticket_changes(*, pairs: list[tuple[dict | None, dict | None]]) -> None:
    """Move many tickets' contributions: one sum, one write per bucket."""
    sums: Sums = {}
    for before, after in pairs:
        old, new = contribution(before), contribution(after)
        if old != new:
            _add_contribution(sums, old, -1)
            _add_contribution(sums, new, +1)
    _write(sums)


def record_tweets(*, tweets: list[dict]) -> None:
    """Newly stored tweets, counted by the hour they were written, language and author kind."""
    sums: Sums = {}
    for tweet in tweets:
        _add_tweet(sums, tweet)
    _write(sums)


def count_stored_tweets(*, tweets: list[dict], **_signal) -> None:
    """ingestion.events.tweets_stored."""
    record_tweets(tweets=tweets)


def count_written_tickets(*, pairs: list[tuple[dict | None, dict | None]], **_signal) -> None:
    """tickets.events.tickets_written."""
    record_ticket_changes(pairs=pairs)


def rebuild_kpis() -> int:
    """Recompute every bucket from the tickets and tweets (after a restore or a bulk load),
    safely while live writes go on: one UTC day at a time (its day bucket and hour buckets,
    from one narrow range of the tickets' and tweets' created_at indexes). Each bucket is
    replaced only if its revision (every live increment bumps it) is still the one read
    before counting, and the day is counted again after; a day that moved meanwhile is done
    again, so no live increment is lost. Returns the buckets holding figures."""
    since = min(filter(None, (store.first_created(), first_tweet_created())), default=None)
    if since is None:
        return 0
    return sum(_recount_kpi_day(window) for window in day_ranges(field="created_at", since=since))


def _recount_kpi_day(window: dict) -> int:
    """A day's buckets replaced and verified; done again while a ticket of that day was
    written in the last half second (its increment may still be in flight)."""
    day = window["created_at"]["$gte"]
    ids = [bucket_id(day, "d"), *(bucket_id(day + timedelta(hours=h), "h") for h in range(24))]

    def once() -> tuple[bool, int] | None:
        held = _revisions(ids)
        sums = _day_sums(window)
        if not held and not sums:
            return None
        written = {key: (rev or 0) + 1 for key, rev in held.items()} | {
            bucket_id(start, grain): 1 for start, grain in sums if bucket_id(start, grain) not in held}
        verified = _replace_buckets(day, held, sums) and _day_sums(window) == sums and _revisions(ids) == written
        return verified, len(sums)

    return recount_until_settled(window, recount=once, written_lately=store.written_lately,
                                 what="KPI buckets")


def _revisions(ids: list[str]) -> dict[str, int | None]:
    return {b["_id"]: b.get("rev") for b in find_by_values(KpiBucket._get_collection(), "_id", ids, {"rev": 1})}


def _day_sums(window: dict) -> Sums:
    sums: Sums = {}
    for ticket in store.select(window, projection=KPI_FIELDS):
        _add_contribution(sums, contribution(ticket), +1)
    for tweet in tweets_created_in(window, projection={"created_at": 1, "language": 1, "is_brand": 1}):
        _add_tweet(sums, tweet)
    return {key: Counter({path: value for path, value in counter.items() if value})
            for key, counter in sums.items() if any(counter.values())}


def _replace_buckets(day: datetime, held: dict[str, int | None], sums: Sums) -> bool:
    """Each of the day's buckets as counted, compare-and-set on its revision; an emptied
    bucket is emptied. False when one moved (a live increment) or appeared meanwhile."""
    buckets = KpiBucket._get_collection()
    counted = {bucket_id(start, grain): (start, grain, counter) for (start, grain), counter in sums.items()}
    for key in held.keys() | counted.keys():
        start, grain, counter = counted.get(key) or (_bucket_start_of(key), key[0], Counter())
        document = {"_id": key, "grain": grain, "start": start, "cells": {}, "tweets": {},
                    "rev": (held.get(key) or 0) + 1}
        for path, value in counter.items():
            section, rest = path.split(".", 1)
            if section == "cells":
                cell, name = rest.rsplit(".", 1)
                document["cells"].setdefault(cell, {})[name] = value
            else:
                document["tweets"][rest] = value
        if key not in held:
            try:
                buckets.insert_one(document)
            except DuplicateKeyError:
                return False
        elif buckets.replace_one({"_id": key, "rev": held[key]}, document).matched_count == 0:
            return False
    return True


def _bucket_start_of(key: str) -> datetime:
    return datetime.strptime(key[2:], "%Y-%m-%dT%H").replace(tzinfo=UTC)


def _add_contribution(sums: Sums, part: tuple[datetime, str, dict] | None, sign: int) -> None:
    if part is None:
        return
    created, key, counters = part
    for grain in GRAINS:
        bucket = sums.setdefault((bucket_start(created, grain), grain), Counter())
        for name, value in counters.items():
            bucket[f"cells.{key}.{name}"] += sign * value


def _add_tweet(sums: Sums, tweet: dict) -> None:
    kind = "brand" if tweet.get("is_brand") else "customer"
    for grain in GRAINS:
        bucket = sums.setdefault((bucket_start(tweet["created_at"], grain), grain), Counter())
        bucket[f"tweets.{tweet.get('language') or UNKNOWN_LANGUAGE}|{kind}"] += 1


def _write(sums: Sums) -> None:
    for (start, grain), changes in sums.items():
        _increment(start, grain, {path: value for path, value in changes.items() if value})


def _seconds(start: datetime, end: datetime) -> float:
    """A duration as MongoDB will give it back (dates are kept to the millisecond), so a
    contribution computed before a write equals the one computed from the stored ticket."""
    def stored(moment: datetime) -> datetime:
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    return (stored(end) - stored(start)).total_seconds()


def _increment(start: datetime, grain: str, changes: dict[str, float]) -> None:
    if not changes:
        return
    KpiBucket._get_collection().update_one(  # "rev": a rebuild replaces the bucket only if unchanged
        {"_id": bucket_id(start, grain)},
        {"$inc": {**changes, "rev": 1}, "$setOnInsert": {"grain": grain, "start": start}}, upsert=True)


# --- alerts ------------------------------------------------------------------------------------

OUTAGE_TOPIC = "network"
OUTAGE_TEAM = "tech"
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
    burst = [t for t in _recent_tickets(since) if t["topic"] == OUTAGE_TOPIC and t.get("sentiment") == "negative"]
    usual_per_hour = _hourly_rate(topic=OUTAGE_TOPIC, sentiment="negative", before=since, hours=BASELINE_HOURS)
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
    for bucket in KpiBucket._get_collection().find({"grain": "h", "start": {"$gte": end - timedelta(hours=hours),
                                                                            "$lt": end}},
                                                   {"cells": 1}):
        for cell, counters in bucket.get("cells", {}).items():
            _team, cell_topic, cell_sentiment, _urgency, _language = cell.split("|")
            if cell_topic == topic and cell_sentiment == sentiment:
                total += counters.get("tickets", 0)
    return total / hours


def _group_burst(tickets: list[dict], region_keywords: str) -> dict[str, list[str]]:
    """The burst's tickets by language and by the places they name, largest group first."""
    places = [k.strip().casefold() for k in region_keywords.split(",") if k.strip()]
    groups: dict[str, list[str]] = {}
    for ticket in tickets:
        groups.setdefault(f"language:{ticket.get('language') or UNKNOWN_LANGUAGE}", []).append(ticket["_id"])
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
