"""What can be configured, one typed, frozen object per concern.

config/settings.py reads the environment once and builds these (the only module that reads
it); every stage reads `django.conf.settings.DALLOSH_<CONCERN>` as attributes, so a
misspelt name fails at import and the type says what a value is. A test or a bench changes
one value with `replace`, which leaves the rest as configured:

    settings.DALLOSH_QUEUE = settings.DALLOSH_QUEUE.replace(page_size=4)

Plain dataclasses with no Django import: the settings module builds them before Django is
set up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self


@dataclass(frozen=True, kw_only=True)
class _Settings:
    def replace(self, **changes: Any) -> Self:
        """A copy with these values changed (a test's or a bench's override)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class IngestSettings(_Settings):
    """Reading files, uploads and the stream (ingestion/)."""

    chunk_rows: int  # rows per chunk: bounds memory whatever the file's size
    chunk_bytes: int  # ...and bytes: a chunk's raw rows are one bulk write held in memory
    stale_after_s: float  # a running job with an older heartbeat is dead and may be resumed
    slice_s: float  # a worker ingests a job this long, then queues it again
    upload_dir: Path
    upload_chunk_bytes: int
    upload_max_bytes: int
    stream_max_records: int  # per request of the stream endpoint
    stream_max_bytes: int
    fr_brand_accounts: tuple[str, ...]  # the operator's own accounts in the French feed
    brand_addresses: tuple[str, ...]  # the operator's own e-mail addresses: a mail from them is its reply
    call_agent_speakers: tuple[str, ...]  # a transcript's speakers who are the operator's (case-folded)
    mail_thread_window_h: float  # a mail naming no parent joins its sender's same-subject mail this recent
    duplicate_global_min_chars: int  # texts this long are compared across authors
    duplicate_author_window_h: float  # one author repeating within this is one request
    duplicate_global_window_h: float  # a copy-paste campaign is grouped over this
    duplicate_forget_after_days: int  # fingerprints older than this are dropped (TTL)


@dataclass(frozen=True, kw_only=True)
class MailSettings(_Settings):
    """E-mail in (the support mailbox the housekeeping cluster polls over IMAP,
    ingestion/mailbox.py) and out (agents' replies sent over SMTP, ingestion/outbox.py)."""

    imap_url: str  # imaps://user:password@host:993/INBOX (or imap:// with STARTTLS); empty: none polled
    imap_cafile: Path | None  # the CA of a private server's certificate; None: the system's CAs
    fetch_batch: int  # messages per fetch and per ingest job: bounded memory, a checkpoint after each
    max_batches: int  # per poll, so one poll of a huge mailbox never outlives its lease
    timeout_s: float  # a server that stops answering fails the poll, which the next one retries
    smtp_url: str  # smtps://user:password@host:465 or smtp://… (STARTTLS when offered); empty: no mail sent
    from_name: str  # the brand's name on the replies, beside the first of the brand addresses
    send_attempts: int  # a reply that failed this many times is shown as not sent, and no longer retried


@dataclass(frozen=True, kw_only=True)
class SiteSettings(_Settings):
    """This installation's own facts."""

    shared_data: Path  # the shared data files beside the project (training, scorecards)
    demo_password: str  # seed_demo's accounts
    brand_handle: str  # the author of the replies agents record


@dataclass(frozen=True, kw_only=True)
class AccessSettings(_Settings):
    """API tokens and the login's lockout (dallosh/tokens.py, dallosh/login.py)."""

    token_days: int  # an API token expires this many days after it is made
    login_failures: int  # failures for one account within the window lock it (4 × for an address)
    login_window_minutes: int


@dataclass(frozen=True, kw_only=True)
class SlaSettings(_Settings):
    """Response-time targets (tickets/sla.py)."""

    hours: Mapping[str, float]  # per urgency: the clock starts when the customer wrote (tweets)
    channel_hours: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # a channel's own targets

    def target_hours(self, urgency: str, channel: str | None) -> float:
        """A channel's own target where it has one (e-mail is answered slower than a tweet)."""
        return self.channel_hours.get(channel or "", {}).get(urgency) or self.hours[urgency]


@dataclass(frozen=True, kw_only=True)
class QueueSettings(_Settings):
    """The queue pages (tickets/queue_pages.py)."""

    page_size: int
    scan_budget_ms: float  # how long one page may read candidates before saying how far it got
    window_max: int  # the most candidates one read may hold


@dataclass(frozen=True, kw_only=True)
class EmbeddedSettings(_Settings):
    """The embedded default's servers (config/embedded.py) and the local model's files."""

    mongo_port: int
    redis_port: int
    local_model: str  # a model of analysis/local_model.py's catalogue, or "off"
    local_model_port: int
    model_dir: Path  # where the joined GGUF files are kept
    mailbox_port: int  # the demo's support mailbox (Dovecot, IMAPS); 0: none


@dataclass(frozen=True, kw_only=True)
class TierSettings(_Settings):
    """How one LLM tier is reached and used (analysis/providers.py)."""

    name: str  # openai | ollama | local
    kind: str  # "openai" (OpenAI's API, also the local llama.cpp server) or "ollama"
    model: str
    enabled: bool = True
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 60
    batch_size: int = 1  # tweets per prompt
    batch_token_budget: int = 6000  # prompt tokens per call, whatever the batch size
    max_retries: int = 2  # on 429 only
    max_retry_after_s: float = 30  # a longer Retry-After sends the call to the next tier
    price_in_per_mtok: float = 0.0  # USD per million tokens, for the cost ledger
    price_out_per_mtok: float = 0.0
    options: Mapping[str, Any] = field(default_factory=dict)
    # Ask a sentiment-only second opinion when the first answer's sentiment is less sure
    # than this (0 turns it off). Needs token log-probabilities (OpenAI API, llama.cpp).
    second_pass_below: float = 0.0


@dataclass(frozen=True, kw_only=True)
class AnalysisSettings(_Settings):
    """The fast tier, the LLM chain and their workers (analysis/)."""

    tiers: tuple[str, ...]  # the chain's order
    providers: Mapping[str, TierSettings]
    local_autostart: bool  # start the local model's server when nothing listens
    refine_nice: int  # the local model's and the refine workers' nice level
    local_model_threads: int
    refine_pause_s: float  # a refinement waits up to this while labelling has work
    breaker_failures: int
    breaker_cooldown_s: float
    breaker_max_cooldown_s: float
    task_tickets: int  # tickets per worker task
    lease_s: float  # how long a worker holds them before others may take over
    retry_after_s: float  # a ticket every tier failed on waits this long (doubling, capped)
    requeue_after_s: float  # enqueued tickets not claimed within this are enqueued again
    auto_enqueue: bool
    fast_tier: bool  # the embedding heads label and route every ticket; off: the LLM labels all
    encoder_threads: int
    heads_reload_s: float  # how often a process looks for a newly active version of the heads
    max_waiting_tasks: int  # tasks allowed to wait in the broker per analysis cluster
    fewshot_tokens: int  # prompt tokens given to agents' corrections of similar tweets

    def with_tier(self, name: str, **changes: Any) -> AnalysisSettings:
        """A copy with one tier's settings changed."""
        return self.replace(providers={**self.providers, name: self.providers[name].replace(**changes)})
