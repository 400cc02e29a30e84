"""Tickets (MongoDB, mongoengine), one per customer conversation, and routing rules (SQL,
edited in the admin). Thin data."""

from __future__ import annotations

from datetime import UTC, datetime

import mongoengine as me
from django.db import models
from django.utils.translation import gettext_lazy as _

from dallosh import vocabulary

# "Hand out at once": a date in the past, rather than null, so the analysis queue is one
# indexed range query (needs_analysis, analysis_queued_until <= now).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AWAIT_ANALYSIS = {"needs_analysis": True, "analysis_claim": None, "analysis_lease_until": EPOCH,
                  "analysis_queued_until": EPOCH}


class TicketStatus:
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    MERGED = "merged"  # its conversation turned out to belong to another ticket
    CHOICES = (NEW, IN_PROGRESS, WAITING_CUSTOMER, RESOLVED, MERGED)
    OPEN = (NEW, IN_PROGRESS, WAITING_CUSTOMER)  # not closed: the backlog, the KPIs' "open"
    # What a queue shows unless asked otherwise: work for us. Waiting on the customer has a
    # tab of its own (Zendesk's "pending"): it must not sit above new work by its urgency.
    TO_DO = (NEW, IN_PROGRESS)
    LISTED = (*OPEN, RESOLVED)  # the statuses a queue can be filtered on (merged ones are gone)
    # As people say them: pages, refusals and the KPI charts (served to their script).
    LABELS = {NEW: _("new"), IN_PROGRESS: _("in progress"), WAITING_CUSTOMER: _("waiting on customer"),
              RESOLVED: _("resolved"), MERGED: _("merged")}

    @classmethod
    def label(cls, status: str | None) -> str:
        """A status in words; a value that is no status is shown as it is."""
        return str(cls.LABELS.get(status or "", status or "—"))


class TicketAnalysis(me.EmbeddedDocument):
    """The model's answer (the fields of LABELS.md) and how it was obtained."""

    sentiment = me.StringField(choices=vocabulary.SENTIMENTS)
    topic = me.StringField(choices=vocabulary.TOPICS)
    urgency = me.StringField(choices=vocabulary.URGENCIES)
    team = me.StringField(choices=vocabulary.TEAMS)
    actionable = me.BooleanField()
    summary = me.StringField()
    input_text = me.StringField()  # exactly what the model read; routing keywords match it too
    provider = me.StringField()
    model = me.StringField()
    tokens_in = me.IntField()
    tokens_out = me.IntField()
    latency_ms = me.IntField()
    attempts = me.IntField()
    batch_size = me.IntField()
    fallbacks = me.ListField(me.StringField())
    prompt_version = me.StringField()
    analysed_at = me.DateTimeField()
    review_flag = me.StringField()  # why a person should check this answer (analysis/guard.py), or None
    # How sure the tier was of each label (the fast tier's calibrated heads, the LLM's token
    # probabilities), the fields below the fast tier's thresholds, and the LLM's differing
    # labels left as a suggestion when an agent already held the ticket.
    confidence = me.DictField()
    unsure = me.ListField(me.StringField())
    # The fields handed to an LLM tier (analysis/scorecards.py): on the fast tier's answer,
    # the doubted ones some tier is expected to answer better than the heads (the others
    # wait for a person); once an LLM answered (re-labelling, or suggesting on a held
    # ticket), the ones its answer settled. Absent on analyses written before scorecards,
    # when every doubted field was handed on.
    refine_fields = me.ListField(me.StringField())
    # doubted field -> {tier expected best, its expected accuracy (or "assumed": not measured
    # yet), the head's confidence, whether it was handed on}
    refine_basis = me.DictField()
    suggestion = me.DictField()
    fast_labels = me.DictField()  # what the fast tier said before the LLM refined it


class LabelCorrection(me.EmbeddedDocument):
    """An agent's correction of the model's labels, kept beside the model's answer (which is
    never overwritten) with who and when: it is what evaluation learns from."""

    sentiment = me.StringField(choices=vocabulary.SENTIMENTS)
    topic = me.StringField(choices=vocabulary.TOPICS)
    urgency = me.StringField(choices=vocabulary.URGENCIES)
    actionable = me.BooleanField()
    by = me.StringField(required=True)
    at = me.DateTimeField(required=True)
    # The urgency routing gave the ticket, which the corrected urgency overrides (kept up to
    # date by routing while the correction stands): what withdrawing the correction restores.
    routed_urgency = me.StringField(choices=vocabulary.URGENCIES)


class WithdrawnCorrection(me.EmbeddedDocument):
    """A correction its author or a manager withdrew: kept for audit (who corrected what,
    when, and who withdrew it), never learned from again. The labels are the withdrawn ones."""

    sentiment = me.StringField(choices=vocabulary.SENTIMENTS)
    topic = me.StringField(choices=vocabulary.TOPICS)
    urgency = me.StringField(choices=vocabulary.URGENCIES)
    actionable = me.BooleanField()
    by = me.StringField(required=True)
    at = me.DateTimeField(required=True)
    routed_urgency = me.StringField(choices=vocabulary.URGENCIES)
    withdrawn_by = me.StringField(required=True)
    withdrawn_at = me.DateTimeField(required=True)


class TicketNote(me.EmbeddedDocument):
    """An internal note between agents; never shown to the customer."""

    by = me.StringField(required=True)
    at = me.DateTimeField(required=True)
    text = me.StringField(required=True)


class AuditEntry(me.EmbeddedDocument):
    """One change to a ticket: who, when, what, and the values before and after."""

    at = me.DateTimeField(required=True)
    by = me.StringField(required=True)  # a username, or "system:<part>" for the pipeline
    action = me.StringField(required=True)
    details = me.DictField()


class SlaState:
    RUNNING = "running"  # awaiting our response, target not yet passed
    BREACHED = "breached"  # target passed before we responded
    MET = "met"  # responded within the target


class Ticket(me.Document):
    """A customer conversation awaiting (or after) analysis and handling.

    `_id` is the conversation id (key of the conversation's first tweet). The fields from
    `customer` to `first_brand_reply_at` are derived from the conversation's tweets and
    rebuilt whenever tweets join it; workflow fields (status, ...) are never overwritten
    by ingestion.
    """

    id = me.StringField(primary_key=True)
    source = me.StringField(required=True)
    channel = me.StringField(choices=vocabulary.CHANNELS)  # absent on tickets from before: twitter
    customer = me.StringField(required=True)
    language = me.StringField()
    subject = me.StringField()
    created_at = me.DateTimeField(required=True)
    last_activity_at = me.DateTimeField(required=True)
    last_customer_tweet_at = me.DateTimeField()
    tweet_ids = me.ListField(me.StringField())
    customer_tweet_count = me.IntField(default=0)
    brand_reply_count = me.IntField(default=0)
    first_brand_reply_at = me.DateTimeField()
    brand_answered_at = me.DateTimeField()  # the brand had the last word, since then (None: the customer)
    status = me.StringField(choices=TicketStatus.CHOICES, default=TicketStatus.NEW)
    # who set the status: a username, "system:<part>", or None (as the conversation implied at creation)
    status_by = me.StringField()
    routed_by = me.StringField()  # the person who re-routed it; machine routing then only suggests
    needs_analysis = me.BooleanField(default=True)
    merged_into = me.StringField()
    ingested_at = me.DateTimeField()
    updated_at = me.DateTimeField()
    # Analysis and routing, written together in one update by analysis/services.py
    analysis = me.EmbeddedDocumentField(TicketAnalysis)
    team = me.StringField(choices=vocabulary.TEAMS)  # the queue it is routed to
    urgency = me.StringField(choices=vocabulary.URGENCIES)  # after routing rules
    routing_rule = me.StringField()  # the rule that decided; None for LABELS.md's default routing
    routed_at = me.DateTimeField()
    assignee = me.StringField()  # username of the agent holding it
    # The labels the queue shows and filters on: the model's, or an agent's correction.
    topic = me.StringField(choices=vocabulary.TOPICS)
    sentiment = me.StringField(choices=vocabulary.SENTIMENTS)
    correction = me.EmbeddedDocumentField(LabelCorrection)  # the one in force (None once withdrawn)
    withdrawn_corrections = me.EmbeddedDocumentListField(WithdrawnCorrection)  # history: audit only
    # True while the labels in force are the fast tier's with a field below its threshold and
    # nobody has settled them yet: not the LLM (by re-labelling, or by agreeing with them on a
    # held ticket) nor an agent (by correcting them); dallosh.vocabulary.unsure_in_force
    # decides it, in the same update as the analysis or the correction (analysis/services.py,
    # tickets/services.py). The queue's "unsure" view reads it on the partial index below.
    unsure = me.BooleanField()
    # True while, of those doubts, some were handed to no LLM tier because none is expected to
    # answer them better than the heads (analysis/scorecards.py), and nothing is queued: only
    # a person settles them. Written with `unsure`; the overview counts {no_better_tier,
    # unsure} on the partial index below (a correction clears `unsure`, so it leaves the count).
    no_better_tier = me.BooleanField()
    # Queue order: tickets/sla.py's priority (breach and urgency), then age. See tickets/queue.py.
    queue_priority = me.IntField()
    sla_due_at = me.DateTimeField()
    sla_state = me.StringField(choices=(SlaState.RUNNING, SlaState.BREACHED, SlaState.MET))
    claimed_at = me.DateTimeField()
    responded_at = me.DateTimeField()
    resolved_at = me.DateTimeField()
    notes = me.EmbeddedDocumentListField(TicketNote)
    note_count = me.IntField()  # len(notes), read without the notes (the bound of services.add_note)
    audit = me.EmbeddedDocumentListField(AuditEntry)
    version = me.IntField(default=0)  # bumped by every agent-visible change: orders live events
    # Analysis work queue: a worker's claim, and when the ticket may be handed out again
    analysis_claim = me.StringField()
    analysis_lease_until = me.DateTimeField()
    analysis_queued_until = me.DateTimeField()
    analysis_solo = me.BooleanField(default=False)  # a batch answer missed it: analyse it alone
    analysis_failures = me.IntField(default=0)
    analysis_error = me.StringField()
    write_token = me.StringField()  # the bulk write that last changed it (tickets/services.apply_changes)
    # Refinement queue: fast-labelled tickets with a field below its threshold, for the LLM
    # chain in the background, most urgent (rank 0) and oldest first.
    needs_refinement = me.BooleanField()
    refine_rank = me.IntField()
    refine_queued_until = me.DateTimeField()
    refine_unnoted = me.StringField()  # made due, its cursor not yet moved back to it (analysis/refine_queue.py)

    meta = {
        "collection": "tickets",
        "indexes": [
            {"fields": ["status", "created_at"]},
            {"fields": ["needs_analysis", "analysis_queued_until"]},
            {"fields": ["analysis_claim"], "sparse": True},  # claim, renew and release: one point lookup
            {"fields": ["needs_refinement", "refine_rank", "created_at"]},
            {"fields": ["refine_unnoted"], "sparse": True},  # the few due tickets whose writer died unnoted
            {"fields": ["team", "status", "queue_priority", "created_at"]},
            # The "unsure" view: only unsure tickets are in it, so its windows read those alone.
            {"fields": ["team", "unsure", "status", "queue_priority", "created_at"],
             "partialFilterExpression": {"unsure": True}},
            {"fields": ["no_better_tier", "unsure"], "partialFilterExpression": {"no_better_tier": True}},
            {"fields": ["assignee", "status"]},
            {"fields": ["sla_state", "sla_due_at"]},
            {"fields": ["-analysis.analysed_at"]},
            {"fields": ["customer", "created_at"]},
            {"fields": ["created_at"]},
            {"fields": ["correction.at"], "sparse": True},  # corrections: few-shot examples, agreement
        ],
    }


class QueueDay(me.Document):
    """How many tickets one queue segment (team, status, priority, unsure or not) holds per
    day of age.

    The queue pager reads it to jump straight to the days that hold tickets and to size its
    windows, so a page costs about its own rows whatever the store's size. A day's document
    is created before any ticket enters that segment and is never deleted, which is what
    the pager relies on; the counts only size windows, so a drifted count costs time, never
    a ticket. Unsure tickets (Ticket.unsure) are counted apart, so the "unsure" view jumps
    to the days that hold them and says how many there are without reading a ticket.
    """

    id = me.StringField(primary_key=True)  # "team|status|priority|YYYY-MM-DD", then "|unsure" for those
    team = me.StringField(required=True)
    status = me.StringField(required=True)
    priority = me.IntField(required=True)
    day = me.DateTimeField(required=True)
    unsure = me.BooleanField(default=False)  # absent on documents written before unsure tickets were apart
    count = me.IntField(default=0)

    meta = {"collection": "queue_days", "indexes": [{"fields": ["team", "status", "priority", "day"]},
                                                    {"fields": ["day"]}]}  # the rebuild's per-day reads


# --- SQL (Django ORM): admin-editable routing rules --------------------------------------


class RoutingRule(models.Model):
    """An admin's override of the default routing: the first active matching rule wins.

    Conditions left empty match anything; a rule must set a team, an urgency, or both.
    """

    name = models.CharField(max_length=120)
    priority = models.PositiveIntegerField(default=100, help_text=_("lower runs first"))
    active = models.BooleanField(default=True)
    # Conditions (on the model's analysis and on the conversation)
    topic = models.CharField(max_length=32, blank=True, choices=vocabulary.choices("topic"))
    sentiment = models.CharField(max_length=16, blank=True, choices=vocabulary.choices("sentiment"))
    urgency = models.CharField(max_length=16, blank=True, choices=vocabulary.choices("urgency"),
                               help_text=_("the urgency the model gave"))
    language = models.CharField(max_length=8, blank=True, help_text=_("ISO code, e.g. fr or en"))
    keywords = models.CharField(max_length=500, blank=True,
                                help_text=_("comma-separated; any of them in the cleaned text, any case"))
    author = models.CharField(max_length=120, blank=True, help_text=_("the customer's handle, without @"))
    # Actions
    route_to_team = models.CharField(max_length=16, blank=True, choices=vocabulary.choices("team"))
    set_urgency = models.CharField(max_length=16, blank=True, choices=vocabulary.choices("urgency"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "tickets"
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(route_to_team="", set_urgency=""),
                                   name="routing_rule_sets_something",
                                   violation_error_message="A rule must set a team, an urgency, or both."),
        ]

    def __str__(self) -> str:
        return f"{self.priority}: {self.name}"
