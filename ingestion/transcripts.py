"""Call transcripts read as the pipeline reads tweets: one call becomes one message of the
"call" channel (ingestion/formats.CallFormat), whose text is the customer's turns, the
words the model reads; the whole dialogue, with its speakers and times, is kept beside it
for the ticket page, and the file exactly as received for audit.

Four formats, told apart by their content:
- JSON: {"call_id", "caller", "started_at", "duration_s", "turns": [{"role" or "speaker",
  "start", "end", "text"}]} (roles customer/agent; a "speakers" object may map names);
- WebVTT (speakers as <v Name> voice tags or "Name:" prefixes) and SRT ("Name:" prefixes);
- plain text, one turn per line: "Client : …" / "Agent : …".
Who is the agent: the file's own mapping, else the names the operator configured
(`DALLOSH_CALL_AGENT_SPEAKERS`, e.g. "agent,conseiller") and those the request names;
anyone else is the customer. The call's number, caller and start come from the file (JSON)
or from the request; a call without an id takes the hash of its bytes, so the same
transcript sent twice is stored once.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from django.utils.translation import gettext as _

from dallosh import json_input
from ingestion.reader import RawRecord

MAX_TRANSCRIPT_BYTES = 5 * 1024 * 1024  # a larger file is quarantined (a document holds 16 MB)
MAX_TEXT_CHARS = 20_000  # what the model and the page read of one call
CUSTOMER, AGENT = "customer", "agent"
CUSTOMER_NAMES = {"client", "cliente", "customer", "caller", "appelant", "appelante", "abonné", "abonnée"}
ROLE_WORDS = {**dict.fromkeys(CUSTOMER_NAMES, CUSTOMER), AGENT: AGENT, "conseiller": AGENT, "conseillère": AGENT}
_CUE_TIME = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})\s*-->\s*(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})")
_VOICE = re.compile(r"^<v(?:\.[^ >]*)?\s+([^>]+)>(.*?)(?:</v>)?$", re.DOTALL)
_SPEAKER_PREFIX = re.compile(r"^\s*([^:\n]{1,40}?)\s*:\s+(.+)$", re.DOTALL)
_TAGS = re.compile(r"</?[^>]+>")


class TranscriptRefused(ValueError):
    """The transcript cannot be read as a call; the message says why, for the quarantine."""


@dataclass(frozen=True)
class Hints:
    """What the request says of a call its file does not (VTT, SRT and text carry no metadata)."""

    call_id: str = ""
    caller: str = ""
    started_at: datetime | None = None
    agents: tuple[str, ...] = ()  # speaker names that are agents, beside the configured ones

    @staticmethod
    def names(text: str | None) -> tuple[str, ...]:
        """The agents' names as a request or a command gives them: "Marie, Paul"."""
        return tuple(name.strip() for name in (text or "").split(",") if name.strip())


@dataclass(frozen=True)
class Turn:
    role: str
    speaker: str
    text: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass(frozen=True)
class Call:
    call_id: str
    caller: str
    started_at: datetime
    duration_s: float | None
    format: str
    turns: list[Turn] = field(default_factory=list)

    @property
    def customer_words(self) -> str:
        return " ".join(turn.text for turn in self.turns if turn.role == CUSTOMER)[:MAX_TEXT_CHARS]

    def as_metadata(self) -> dict:
        """The call's own fields as stored beside the message (`call` on the tweets collection)."""
        return {"call_id": self.call_id, "caller": self.caller, "duration_s": self.duration_s, "format": self.format,
                "turns": [asdict(turn) for turn in self.turns]}


def parse(raw: bytes, *, hints: Hints, agent_speakers: set[str], received_at: datetime | None = None) -> Call:
    """One transcript, or TranscriptRefused with the reason."""
    if len(raw) > MAX_TRANSCRIPT_BYTES:
        raise TranscriptRefused(_("the transcript is %(size)d bytes, over the limit of %(limit)d")
                                % {"size": len(raw), "limit": MAX_TRANSCRIPT_BYTES})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return _from_json(stripped, raw, hints, agent_speakers, received_at)
    if stripped.startswith("WEBVTT"):
        kind, turns = "vtt", _cues(stripped, agent_speakers | _folded(hints.agents), vtt=True)
    elif _CUE_TIME.search(stripped.split("\n\n", 1)[0].replace("\r", "")) or re.match(r"^\d+\s*\r?\n", stripped):
        kind, turns = "srt", _cues(stripped, agent_speakers | _folded(hints.agents), vtt=False)
    else:
        kind, turns = "text", _lines(stripped, agent_speakers | _folded(hints.agents))
    ends = [t.end_s for t in turns if t.end_s is not None]
    return _call(call_id=hints.call_id, caller=hints.caller, started_at=hints.started_at,
                 duration_s=max(ends, default=None), kind=kind, turns=turns, raw=raw, received_at=received_at)


def call_record(*, row: int, raw: bytes, hints: Hints, agent_speakers: set[str]) -> RawRecord:
    """One received transcript as the pipeline's record: its bytes kept whatever happens, and
    either the fields of CallFormat or the reason it is quarantined."""
    preview = raw[:2000].decode("utf-8", errors="replace")
    try:
        call = parse(raw, hints=hints, agent_speakers=agent_speakers)
    except TranscriptRefused as refused:
        return RawRecord(row, row + 1, preview, None, error=str(refused), raw_bytes=raw)
    fields = [call.call_id, call.caller, call.started_at.isoformat(), call.customer_words,
              json.dumps(call.as_metadata(), ensure_ascii=False)]
    return RawRecord(row, row + 1, preview, fields, raw_bytes=raw)


def _from_json(text: str, raw: bytes, hints: Hints, agent_speakers: set[str], received_at) -> Call:
    try:
        document = json_input.loads(text)
    except ValueError as error:  # not JSON, or nested too deeply to read
        raise TranscriptRefused(_("the JSON transcript is not valid JSON: %(error)s") % {"error": error}) from error
    if not isinstance(document, dict) or not isinstance(document.get("turns"), list):
        raise TranscriptRefused(_("a JSON transcript is an object with a list of turns"))
    named = {str(k).casefold(): str(v).casefold() for k, v in (document.get("speakers") or {}).items()}
    agents = agent_speakers | _folded(hints.agents) | {name for name, role in named.items() if role == AGENT}
    turns = []
    for number, item in enumerate(document["turns"], start=1):
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            raise TranscriptRefused(_("turn %(number)d has no text") % {"number": number})
        speaker = str(item.get("speaker") or item.get("role") or "")
        role = ROLE_WORDS.get(str(item.get("role") or "").casefold()) or _role(speaker, agents)
        turns.append(Turn(role=role, speaker=speaker, text=" ".join(str(item["text"]).split()),
                          start_s=_seconds(item.get("start"), number), end_s=_seconds(item.get("end"), number)))
    started = document.get("started_at")
    try:
        started_at = datetime.fromisoformat(started) if started else hints.started_at
    except (TypeError, ValueError) as error:
        raise TranscriptRefused(_("started_at %(value)r is not an ISO date") % {"value": started}) from error
    duration = document.get("duration_s")
    ends = [t.end_s for t in turns if t.end_s is not None]
    return _call(call_id=str(document.get("call_id") or hints.call_id), caller=str(document.get("caller") or
                 hints.caller), started_at=started_at, duration_s=float(duration) if isinstance(duration, int | float)
                 else max(ends, default=None), kind="json", turns=turns, raw=raw, received_at=received_at)


def _cues(text: str, agents: set[str], *, vtt: bool) -> list[Turn]:
    turns = []
    for block in re.split(r"\r?\n\s*\r?\n", text):
        lines = [line for line in block.strip().splitlines() if line.strip()]
        timing = next((n for n, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue  # the header, a NOTE or a STYLE block
        times = _CUE_TIME.match(lines[timing])
        if times is None:
            raise TranscriptRefused(_("a cue's times cannot be read: %(line)r") % {"line": lines[timing][:80]})
        words = " ".join(lines[timing + 1:]).strip()
        if not words:
            continue
        speaker, words = _speaker_of(words, vtt=vtt)
        start, end = _clock(times.groups()[:4]), _clock(times.groups()[4:])
        turns.append(Turn(role=_role(speaker, agents), speaker=speaker, text=words, start_s=start, end_s=end))
    return turns


def _lines(text: str, agents: set[str]) -> list[Turn]:
    turns: list[Turn] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        prefixed = _SPEAKER_PREFIX.match(line)
        if prefixed:
            speaker = prefixed.group(1).strip()
            turns.append(Turn(role=_role(speaker, agents), speaker=speaker, text=" ".join(prefixed.group(2).split())))
        elif turns:  # a turn written over several lines
            last = turns[-1]
            turns[-1] = Turn(role=last.role, speaker=last.speaker, text=f"{last.text} {' '.join(line.split())}")
        else:
            raise TranscriptRefused(_("the first line names no speaker (expected \"Client : …\" or \"Agent : …\")"))
    return turns


def _call(*, call_id: str, caller: str, started_at, duration_s, kind: str, turns: list[Turn], raw: bytes,
          received_at) -> Call:
    if not turns:
        raise TranscriptRefused(_("the transcript holds no turn"))
    if not any(turn.role == CUSTOMER for turn in turns):
        raise TranscriptRefused(_("no turn is the customer's: name the agents' speakers, or mark the roles"))
    if not caller.strip():
        raise TranscriptRefused(_("the caller's number is missing (the file's \"caller\", or the request's)"))
    started_at = started_at or received_at or datetime.now(UTC)
    if started_at.tzinfo is None:
        raise TranscriptRefused(_("the call's start has no time zone"))
    return Call(call_id=call_id.strip() or "sha-" + hashlib.sha256(raw).hexdigest()[:24], caller=caller.strip(),
                started_at=started_at.astimezone(UTC), duration_s=duration_s, format=kind, turns=turns)


def _speaker_of(words: str, *, vtt: bool) -> tuple[str, str]:
    voice = _VOICE.match(words) if vtt else None
    if voice:
        return voice.group(1).strip(), _TAGS.sub("", voice.group(2)).strip()
    words = _TAGS.sub("", words).strip()
    prefixed = _SPEAKER_PREFIX.match(words)
    return (prefixed.group(1).strip(), prefixed.group(2).strip()) if prefixed else ("", words)


def personal_name(speaker: str) -> str:
    """The speaker's own name, or "" where the file only names a role ("Client", "Conseiller"):
    the page already says who is the agent and who the customer."""
    return "" if speaker.casefold().strip() in ROLE_WORDS else speaker


def _role(speaker: str, agents: set[str]) -> str:
    name = speaker.casefold().strip()
    return AGENT if name in agents or ROLE_WORDS.get(name) == AGENT else CUSTOMER


def _clock(parts) -> float:
    hours, minutes, seconds, millis = (int(p) if p else 0 for p in parts)
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def _seconds(value, number: int) -> float | None:
    if value is None or isinstance(value, int | float):
        return None if value is None else float(value)
    raise TranscriptRefused(_("turn %(number)d: times are seconds from the call's start") % {"number": number})


def _folded(names) -> set[str]:
    return {name.casefold().strip() for name in names if name.strip()}
