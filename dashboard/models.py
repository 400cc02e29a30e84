"""KPI rollups and alerts (MongoDB), alert rules (SQL): thin data, written by
dashboard/kpis.py."""

import mongoengine as me
from django.db import models
from django.utils.translation import gettext_lazy as _

from dallosh import vocabulary


class KpiBucket(me.Document):
    """One day ("d") or hour ("h") of figures, by when the customer wrote.

    `cells` maps "team|topic|sentiment|urgency|language" to counters (tickets, open,
    resolved, breached, corrected, responded, response_s, resolution_s, provider:<tier>); `tweets` maps
    "language|customer" or "language|brand" to the tweets stored.
    """

    id = me.StringField(primary_key=True)  # "d:2017-10-31T00" or "h:2017-10-31T10"
    grain = me.StringField(required=True, choices=("d", "h"))
    start = me.DateTimeField(required=True)
    cells = me.DictField()
    tweets = me.DictField()
    rev = me.IntField(default=0)  # bumped by every write: a rebuild replaces a bucket only if unchanged

    meta = {"collection": "kpi_buckets", "indexes": [{"fields": ["grain", "start"]}]}


class Alert(me.Document):
    """A raised alert: what crossed which threshold, when, and (for an outage burst) the
    tickets involved, grouped by language and region keyword. Closed when the condition
    clears; acknowledged by a person."""

    rule_id = me.IntField(required=True)
    rule_name = me.StringField(required=True)
    kind = me.StringField(required=True)
    team = me.StringField()  # the team concerned, if any
    message = me.StringField(required=True)
    figures = me.DictField()
    groups = me.DictField()  # outage bursts: "language:fr" / "region:lyon" → tickets
    ticket_ids = me.ListField(me.StringField())
    raised_at = me.DateTimeField(required=True)
    updated_at = me.DateTimeField(required=True)
    closed_at = me.DateTimeField()
    acknowledged_by = me.StringField()
    acknowledged_at = me.DateTimeField()
    open = me.BooleanField(default=True)

    meta = {"collection": "alerts", "indexes": [{"fields": ["open", "-raised_at"]}, {"fields": ["rule_id", "open"]},
                                                {"fields": ["-raised_at"]}]}


# --- SQL (Django ORM): admin-editable alert rules ------------------------------------------


class AlertKind:
    HIGH_URGENCY_SHARE = "high_urgency_share"
    TEAM_BACKLOG = "team_backlog"
    SLA_BREACHES = "sla_breaches"
    OUTAGE_BURST = "outage_burst"
    CHOICES = [
        (HIGH_URGENCY_SHARE, _("Share of high-urgency tickets in the window above the threshold (%)")),
        (TEAM_BACKLOG, _("Open tickets of the team (or of all teams) above the threshold")),
        (SLA_BREACHES, _("Open tickets past their response target above the threshold")),
        (OUTAGE_BURST, _("Network complaints in the window above threshold × their usual hourly rate")),
    ]


class AlertRule(models.Model):
    """When to warn managers (and, for outages, the tech team). Checked every minute."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=AlertKind.CHOICES)
    active = models.BooleanField(default=True)
    team = models.CharField(max_length=16, blank=True, choices=vocabulary.choices("team"),
                            help_text=_("limit to one team (backlog, SLA breaches)"))
    threshold = models.FloatField(help_text=_("a percentage, a number of tickets, or a multiple of the usual rate"))
    window_minutes = models.PositiveIntegerField(default=60, help_text=_("the recent window looked at"))
    min_tickets = models.PositiveIntegerField(default=10, help_text=_("no alert on fewer tickets than this"))
    region_keywords = models.CharField(
        max_length=1000, blank=True, help_text=_("comma-separated places to group an outage's tweets by "
                                                 "(e.g. paris, lyon, marseille)"))

    class Meta:
        app_label = "dashboard"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
