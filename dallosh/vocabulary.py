"""The vocabulary every stage shares: the one copy in code of ../shared/LABELS.md.

The ground module of the pipeline (ingestion, tickets, analysis and dashboard all read
it, it reads none of them): the label values and what they mean, the labels record a
model or an agent gives (`Analysis`) and its validator, the choices shown in forms and
the admin. The JSON schema sent to the models is built from it (analysis/schema.py).
Nothing else may spell these values out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

NEGATIVE, NEUTRAL, POSITIVE = SENTIMENTS = ("negative", "neutral", "positive")
NETWORK = "network"  # the topic of an outage (dashboard's alerts watch it)
TOPICS = (NETWORK, "billing", "commercial", "technical", "customer_service", "other")
URGENCIES = ("high", "medium", "low")
TEAMS = ("tech", "billing", "commercial")
SUMMARY_MAX_CHARS = 140
# The languages told apart (the operator's customers write French and English; the rest
# are neighbours py3langid would otherwise mistake them for), and "undetermined" (ISO 639-2)
# for texts with too few letters to tell.
LANGUAGES = ("fr", "en", "es", "de", "it", "pt", "nl")
UNKNOWN_LANGUAGE = "und"
# Where a customer's message came from: each has its own door into ingestion, and the same
# analysis and routing once it is a message.
TWITTER, EMAIL, CALL = CHANNELS = ("twitter", "email", "call")

VOCABULARY: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS,
    "topic": TOPICS,
    "urgency": URGENCIES,
    "team": TEAMS,
}
# The labels a model or a head gives; the summary is written apart, only where it helps.
LABEL_FIELDS = ("sentiment", "topic", "urgency", "team", "actionable")
FIELDS = (*LABEL_FIELDS, "summary")

# The default routing of LABELS.md: the team a topic goes to (admins' rules may decide
# otherwise, tickets/routing.py); the rest go to FALLBACK_TEAM.
TOPIC_TEAM = {"network": "tech", "technical": "tech", "billing": "billing", "commercial": "commercial"}
FALLBACK_TEAM = "commercial"
# What an agent's correction sets (the team follows the corrected topic).
CORRECTED_FIELDS = ("sentiment", "topic", "urgency", "actionable")

# What each value means, from LABELS.md: shown to the models in every prompt and to
# people in the admin, so labels mean the same thing to both.
MEANINGS: dict[str, str] = {
    "sentiment": "the customer's feeling in this tweet",
    "topic": "what it is about",
    "urgency": "how fast a human must act",
    "team": "who should handle it",
    "actionable": "does a customer need something from us (false: brand's own posts, ads, retweets, jokes, "
                  "thanks with no request)",
    "summary": f"one line an agent can scan, at most {SUMMARY_MAX_CHARS} characters, in the tweet's language",
}
DEFINITIONS: dict[str, dict[str, str]] = {
    "sentiment": {
        "negative": "complaint, criticism, anger, frustration, disappointment, sarcasm, worry, bad news, or a "
                    "problem or bad experience reported, even politely",
        "neutral": "purely factual: a plain question, request or piece of information with no judgement either way",
        "positive": "thanks, praise, approval, satisfaction, enthusiasm, humour in a happy tone, or good news "
                    "(a success, progress, something that works)",
    },
    "topic": {
        "network": "outage, no signal, coverage, slow or unstable internet/mobile data, fibre/ADSL line down",
        "billing": "invoices, charges, double billing, refunds, payment, price increases on a bill",
        "commercial": "offers, plans, subscriptions, upgrades, cancellation and retention, device or phone orders, "
                      "promotions",
        "technical": "equipment and software that is not the network itself: box/router, TV decoder, app, "
                     "SIM activation, phone settings, email",
        "customer_service": "complaints about the support itself: no answer, waiting times, rude or unhelpful "
                            "agents, repeated contacts",
        "other": "anything else",
    },
    "urgency": {
        "high": "service fully down for the customer or many customers (outage), business/medical impact, threat "
                "to leave or go to the regulator/press, angry escalation after several contacts, safety or fraud",
        "medium": "degraded service, billing error, a clear request waiting for an answer",
        "low": "questions about offers, feedback, thanks, no request",
    },
    "team": {
        "tech": "network and technical matters",
        "billing": "billing matters",
        "commercial": "commercial matters, and whatever else has no clearer owner",
    },
}


class InvalidAnalysis(ValueError):
    """A model answer that does not fit the vocabulary; `problems` says each way it fails."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Analysis:
    sentiment: str
    topic: str
    urgency: str
    team: str
    actionable: bool
    summary: str = ""  # written apart, where it helps (analysis/summaries)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def labels(self) -> dict[str, str]:
        """The labels as class names (actionable as "true" or "false"), as heads learn them
        and as log-probabilities are read."""
        return {name: str(getattr(self, name)).lower() if name == "actionable" else getattr(self, name)
                for name in LABEL_FIELDS}


def validate(answer: Any) -> Analysis:
    """The answer as an Analysis, or InvalidAnalysis naming every problem.

    Case and surrounding spaces of labels are forgiven, and so is a summary that runs
    long (it is shortened); a summary may be absent (labelling asks for none); anything
    outside the vocabulary is not.
    """
    if not isinstance(answer, dict):
        raise InvalidAnalysis([f"expected a JSON object, got {type(answer).__name__}"])
    problems = [f"unexpected field {name!r}" for name in answer if name not in FIELDS and name != "id"]
    values: dict[str, Any] = {}
    for name, allowed in VOCABULARY.items():
        raw = answer.get(name)
        value = raw.strip().lower() if isinstance(raw, str) else raw
        if value not in allowed:
            problems.append(f"{name}={raw!r} is not one of {', '.join(allowed)}")
        values[name] = value
    actionable = answer.get("actionable")
    if not isinstance(actionable, bool):
        problems.append(f"actionable={actionable!r} is not true or false")
    summary = answer.get("summary", "")
    if not isinstance(summary, str):
        problems.append(f"summary={summary!r} is not text")
    if problems:
        raise InvalidAnalysis(problems)
    return Analysis(actionable=actionable, summary=shorten(summary), **values)


def shorten(summary: str) -> str:
    """Whitespace collapsed and cut at a word boundary to SUMMARY_MAX_CHARS: a long but
    correct answer is worth keeping, not a repair call."""
    text = " ".join(summary.split())
    if len(text) <= SUMMARY_MAX_CHARS:
        return text
    cut = text[:SUMMARY_MAX_CHARS - 1].rsplit(" ", 1)[0] or text[:SUMMARY_MAX_CHARS - 1]
    return cut.rstrip(" ,;:.") + "…"


# The values and label fields as people read them, in the reader's language: the stored
# values stay English (the API, the models and the KPIs speak them), only pages translate.
NAMES: dict[str, str] = {
    "negative": _("negative"), "neutral": _("neutral"), "positive": _("positive"),
    "network": _("network"), "billing": _("billing"), "commercial": _("commercial"),
    "technical": _("technical"), "customer_service": _("customer service"), "other": _("other"),
    "high": _("high"), "medium": _("medium"), "low": _("low"), "tech": _("tech"),
    "sentiment": _("sentiment"), "topic": _("topic"), "urgency": _("urgency"), "team": _("team"),
    "actionable": _("actionable"), "summary": _("summary"), "assignee": _("assignee"), "status": _("status"),
    "channel": _("channel"), "twitter": _("Twitter"), "email": _("e-mail"), "call": _("call"),
}


def name(value: str) -> str:
    """A vocabulary value or label field as people read it ("customer service", "réseau");
    a value outside the vocabulary stays as it is, underscores read as spaces."""
    return NAMES[value] if value in NAMES else value.replace("_", " ")


def choices(field: str) -> list[tuple[str, str]]:
    """(value, label) pairs for forms and the admin, labels in the reader's language."""
    return [(value, capfirst(NAMES[value])) for value in VOCABULARY[field]]


def labels_in_force(analysis: dict | None, correction: dict | None) -> dict[str, Any]:
    """The labels that stand for a ticket: the agent's correction over the model's answer;
    a corrected topic brings its default team along. The one definition every stage uses
    (queues, KPIs, training, evaluation, the correction form)."""
    analysis = analysis or {}
    labels = {field: analysis.get(field) for field in LABEL_FIELDS}
    if correction:
        labels |= {field: correction[field] for field in CORRECTED_FIELDS if field in correction}
        labels["team"] = TOPIC_TEAM.get(correction.get("topic")) or labels["team"]
    return labels


def unsure_in_force(analysis: dict | None, correction: dict | None, *, refining: bool) -> bool:
    """Whether the labels that stand for a ticket are ones the machine doubts: its answer
    names fields below the fast tier's thresholds (`unsure`), no correction stands over it,
    and nobody settled the doubt yet: the LLM is still to refine it (`refining`), it
    answered otherwise while an agent held the ticket (its answer waits as a `suggestion`),
    or some doubted field was handed to no LLM tier, none being expected to answer it better
    than the heads (`doubts_left_to_people`). An LLM that re-labels the fields it was handed
    leaves no doubt on them, and one that agrees leaves no suggestion: either way those
    doubts are settled. The one definition the analysis, the corrections and the queues'
    "unsure" view share (stored as Ticket.unsure)."""
    analysis = analysis or {}
    return (bool(analysis.get("unsure")) and not correction
            and (refining or bool(analysis.get("suggestion")) or bool(doubts_left_to_people(analysis))))


def doubts_left_to_people(analysis: dict | None) -> list[str]:
    """The doubted fields of an answer that no LLM tier was handed (`refine_fields`), none
    being expected to beat the heads there: a person settles them, or nobody. An answer
    written before scorecards has no `refine_fields`: every doubt was handed on then."""
    analysis = analysis or {}
    handed = analysis.get("refine_fields")
    if handed is None:
        return []
    return [f for f in analysis.get("unsure") or [] if f not in handed]
