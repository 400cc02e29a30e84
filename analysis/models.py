"""Analysis bookkeeping in MongoDB (thin data): provider health for the circuit breaker,
the cost ledger, and each tier's scorecard. The analyses themselves live on their tickets (tickets/models.py),
written in the same single-document update as the routing, so neither exists without the
other."""

from __future__ import annotations

import mongoengine as me


class ProviderHealth(me.Document):
    """One tier's circuit breaker, shared by every worker on every machine."""

    id = me.StringField(primary_key=True)  # tier name: openai | ollama | local
    consecutive_failures = me.IntField(default=0)
    open_until = me.DateTimeField()  # while in the future, the tier is skipped
    cooldown_s = me.FloatField(default=0)  # grows while probes keep failing
    probe_until = me.DateTimeField()  # one worker's probe call is in flight until then
    last_failure = me.StringField()
    last_failure_at = me.DateTimeField()
    last_success_at = me.DateTimeField()
    calls = me.IntField(default=0)
    failures = me.IntField(default=0)

    meta = {"collection": "provider_health"}


class CostLedgerDay(me.Document):
    """Tokens and estimated cost of one provider/model on one UTC day, and what sending one
    tweet per call would have cost instead (the saving batching brings)."""

    id = me.StringField(primary_key=True)  # "YYYY-MM-DD:tier:model"
    day = me.StringField(required=True)
    provider = me.StringField(required=True)
    model = me.StringField(required=True)
    calls = me.IntField(default=0)
    failed_calls = me.IntField(default=0)
    items = me.IntField(default=0)  # tweets answered
    tokens_in = me.IntField(default=0)
    tokens_out = me.IntField(default=0)
    cost_usd = me.FloatField(default=0)
    unbatched_tokens_in = me.IntField(default=0)  # estimate at one tweet per call
    unbatched_cost_usd = me.FloatField(default=0)
    # The classifier tier: tweets it took without an LLM call, and the tokens that saved.
    llm_calls_saved = me.IntField(default=0)
    tokens_saved = me.IntField(default=0)

    meta = {"collection": "cost_ledger", "indexes": [{"fields": ["day", "provider"]}]}


class ClassifierVersion(me.Document):
    """One trained version of the fast tier's heads (analysis/classifier.py): where its
    arrays lie (GridFS), what it learned from and how it scored on its held-out split. At
    most one is active (for the instant of a switch, two: readers take the latest activated);
    with none, the starter heads shipped with the project are."""

    version = me.IntField(required=True, unique=True)
    created_at = me.DateTimeField(required=True)
    blob_id = me.ObjectIdField(required=True)
    sha256 = me.StringField()  # of the blob: a version that no longer matches is refused
    active = me.BooleanField(default=False)
    encoder = me.StringField()
    sources = me.DictField()  # source (dev | teacher | refined | correction) -> examples
    trained_on = me.IntField(default=0)
    corrections = me.IntField(default=0)  # of which corrected by agents (weighted more)
    held_out = me.IntField(default=0)
    agreement = me.DictField()  # field -> share equal to the LLM/agent labels on the held-out split
    macro_f1 = me.DictField()
    thresholds = me.DictField()  # field -> confidence needed to answer without an LLM
    coverage = me.DictField()
    accepted_share = me.FloatField(default=0)
    accepted_precision = me.FloatField(default=0)
    score = me.FloatField(default=0)
    activated_at = me.DateTimeField()  # last made active (by a training or a rollback)
    # Judged on the fixed slice of the labelled set no training sees (its name and version):
    # a version replaces the active one only when it is not worse there.
    slice_name = me.StringField()
    slice_score = me.FloatField()
    slice_agreement = me.DictField()

    meta = {"collection": "classifier_versions",
            "indexes": [{"fields": ["active", "-activated_at"]}, {"fields": ["-version"]}]}


class TierScorecard(me.Document):
    """How often one tier (its model, at one prompt version) answers each field as people
    labelled it, on a fixed sample of the labelled set (analysis/scorecards.py): what the
    refinement queue compares with the heads' confidence. A new model or prompt is a new
    scorecard, unmeasured until measured."""

    id = me.StringField(primary_key=True)  # "<tier>:<model>:<prompt version>"; "fast:<heads name>:-"
    tier = me.StringField(required=True)  # fast | openai | ollama | local
    model = me.StringField(required=True)  # as configured (the heads' name for the fast tier)
    prompt_version = me.StringField(required=True)  # analysis/prompts.prompt_version(); "-" for the fast tier
    sample = me.StringField(required=True)  # "<evaluation slice>:<tweets>", e.g. "labelled-v1:300"
    measured_at = me.DateTimeField(required=True)
    tweets = me.IntField(default=0)
    seconds = me.FloatField(default=0)
    accuracy = me.DictField()  # field -> share answered as labelled (no answer counts wrong)
    per_language = me.DictField()  # en | fr -> field -> share
    errors = me.IntField(default=0)  # tweets the tier gave no answer for

    meta = {"collection": "tier_scorecards"}


class RefineCursor(me.Document):
    """Per urgency rank, a time before which no ticket awaits refinement: the refinement
    queue is read in narrow created_at windows from here, never over the whole backlog
    (analysis/refine_queue.py keeps it exact)."""

    id = me.IntField(primary_key=True)  # the urgency's rank: 0 high, 1 medium, 2 low
    oldest = me.DateTimeField(required=True)
    epoch = me.IntField(default=0)  # bumped by each write that makes a ticket due (analysis/refine_queue.py)

    meta = {"collection": "refine_cursors"}


class DraftStatus:
    QUEUED = "queued"  # recorded by the web request, waiting for a refine worker
    WRITING = "writing"  # a worker took it and is asking the provider chain
    READY = "ready"
    FAILED = "failed"
    CHOICES = (QUEUED, WRITING, READY, FAILED)
    IN_FLIGHT = (QUEUED, WRITING)


class ReplyDraft(me.Document):
    """One agent's request for a suggested reply to one ticket, and the draft a refine worker
    wrote for it. The web request only records it (the LLM never runs in a web process); the
    page shows it live. Drafts are a convenience, not a record: they expire after a day."""

    ticket_id = me.StringField(required=True)
    requested_by = me.StringField(required=True)  # username
    status = me.StringField(required=True, choices=DraftStatus.CHOICES)
    text = me.StringField()
    provider = me.StringField()  # the tier that wrote it, or "template" when every tier failed
    model = me.StringField()
    problems = me.ListField(me.StringField())  # why earlier answers were refused
    error = me.StringField()  # why a failed draft failed
    created_at = me.DateTimeField(required=True)
    updated_at = me.DateTimeField(required=True)
    expires_at = me.DateTimeField(required=True)  # the TTL index removes it then

    meta = {"collection": "reply_drafts", "indexes": [
        # the page's "latest draft of this user for this ticket"
        {"fields": ["requested_by", "ticket_id", "-created_at"]},
        # the rate limit's "drafts of this user in flight"
        {"fields": ["requested_by", "status"]},
        {"fields": ["expires_at"], "expireAfterSeconds": 0},
    ]}
