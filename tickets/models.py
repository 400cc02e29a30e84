"""Tickets (MongoDB, mongoengine), one per customer conversation, and routing rules (SQL,
edited in the admin). Thin data."""

from __future__ import annotations

import mongoengine as me
from django.db import models

from analysis import schema


class TicketStatus:
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    MERGED = "merged"  # its conversation turned out to belong to another ticket
    CHOICES = (NEW, IN_PROGRESS, WAITING_CUSTOMER, RESOLVED, MERGED)


class Ticket(me.Document):
    """A customer conversation awaiting (or after) analysis and handling.

    `_id` is the conversation id (key of the conversation's first tweet). The fields from
    `customer` to `first_brand_reply_at` are derived from the conversation's tweets and
    rebuilt whenever tweets join it; workflow fields (status, ...) are never overwritten
    by ingestion.
    """

    id = me.StringField(primary_key=True)
    source = me.StringField(required=True)
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
    status = me.StringField(choices=TicketStatus.CHOICES, default=TicketStatus.NEW)
    needs_analysis = me.BooleanField(default=True)
    merged_into = me.StringField()
    ingested_at = me.DateTimeField()
    updated_at = me.DateTimeField()

    meta = {
        "collection": "tickets",
        "indexes": [
            {"fields": ["status", "created_at"]},
            {"fields": ["needs_analysis", "created_at"]},
            {"fields": ["customer", "created_at"]},
            {"fields": ["created_at"]},
        ],
    }


# --- SQL (Django ORM): admin-editable routing rules --------------------------------------


class RoutingRule(models.Model):
    """An admin's override of the default routing: the first active matching rule wins.

    Empty conditions match anything; a rule must set a team, an urgency, or both.
    """

    name = models.CharField(max_length=120)
    priority = models.PositiveIntegerField(default=100, help_text="lower runs first")
    active = models.BooleanField(default=True)
    topic = models.CharField(max_length=32, blank=True, choices=schema.choices("topic"))
    sentiment = models.CharField(max_length=16, blank=True, choices=schema.choices("sentiment"))
    language = models.CharField(max_length=8, blank=True, help_text="ISO code, e.g. fr or en")
    keyword = models.CharField(max_length=120, blank=True, help_text="matched in the cleaned text, any case")
    team = models.CharField(max_length=16, blank=True, choices=schema.choices("team"))
    urgency = models.CharField(max_length=16, blank=True, choices=schema.choices("urgency"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "tickets"
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(team="", urgency=""), name="routing_rule_sets_something",
                                   violation_error_message="A rule must set a team, an urgency, or both."),
        ]

    def __str__(self) -> str:
        return f"{self.priority}: {self.name}"
