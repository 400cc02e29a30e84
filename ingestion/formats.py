"""The CSV formats Dallosh understands: one adapter per format, detected by its columns.

An adapter turns a chunk of raw string columns into canonical tweet columns, and names the
rows it must reject with a reason. Everything is vectorised (pandas) so a chunk of 10,000
rows costs milliseconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from django.conf import settings
from django.utils.translation import gettext as _

from dallosh.vocabulary import CALL, EMAIL, TWITTER

CANONICAL_COLUMNS = ["row", "tweet_id", "author", "is_brand", "created_at", "text", "reply_to_id", "response_ids"]
ID_PATTERN = r"^\d+(?:\.0+)?$"


class UnknownFormat(ValueError):
    """The columns match no known format; the message names what each format expects."""


@dataclass
class ParsedChunk:
    tweets: pd.DataFrame  # CANONICAL_COLUMNS
    rejects: list[tuple[int, str]]  # (row number, reason)


class CsvFormat:
    name: str
    label: str
    columns: tuple[str, ...]
    channel: str = TWITTER
    # The French feed lost its line breaks: each became a stray "n" glued to a word.
    stray_newline_n: bool = False

    def matches(self, columns: list[str]) -> bool:
        """Every column of the format is there. Extra columns (an export with one more field)
        are allowed: parsing reads columns by name, and the raw row keeps them all."""
        return set(self.columns) <= {c for c in columns if c}

    def parse(self, frame: pd.DataFrame) -> ParsedChunk:
        raise NotImplementedError

    @staticmethod
    def _reject(frame: pd.DataFrame, mask: pd.Series, reason: str, rejects: list) -> pd.DataFrame:
        if mask.any():
            rejects.extend((int(r), reason) for r in frame.loc[mask, "row"])
            frame = frame.loc[~mask]
        return frame


class TwcsFormat(CsvFormat):
    """Kaggle "Customer Support on Twitter": brand replies have inbound=False."""

    name = "twcs"
    label = "Customer Support on Twitter"
    columns = ("tweet_id", "author_id", "inbound", "created_at", "text", "response_tweet_id",
               "in_response_to_tweet_id")

    def parse(self, frame: pd.DataFrame) -> ParsedChunk:
        rejects: list[tuple[int, str]] = []
        ids = ("tweet_id", "author_id", "inbound", "in_response_to_tweet_id")
        frame = frame.assign(**{column: frame[column].str.strip() for column in ids})
        frame["inbound"] = frame["inbound"].str.lower()
        frame = self._reject(frame, frame["tweet_id"] == "", "missing tweet_id", rejects)
        frame = self._reject(frame, ~frame["tweet_id"].str.match(ID_PATTERN), "bad tweet_id: not a number", rejects)
        frame = self._reject(frame, frame["author_id"] == "", "missing author_id", rejects)
        frame = self._reject(frame, ~frame["inbound"].isin(["true", "false"]), "bad inbound: neither True nor False",
                             rejects)
        created = _dates(frame["created_at"], format="%a %b %d %H:%M:%S %z %Y")
        expected = "bad created_at: expected a date like 'Tue Oct 31 22:10:47 +0000 2017'"
        frame = self._reject(frame, created.isna(), expected, rejects)
        reply = frame["in_response_to_tweet_id"]
        frame = self._reject(frame, (reply != "") & ~reply.str.match(ID_PATTERN),
                             "bad in_response_to_tweet_id: not a tweet id", rejects)
        tweets = pd.DataFrame({
            "row": frame["row"],
            "tweet_id": frame["tweet_id"].map(_integer_id),
            "author": frame["author_id"],
            "is_brand": frame["inbound"] == "false",
            "created_at": created.loc[frame.index],
            "text": frame["text"],
            "reply_to_id": frame["in_response_to_tweet_id"].map(_integer_id),
            "response_ids": frame["response_tweet_id"].map(_id_list),
        })
        return ParsedChunk(tweets, rejects)


class FreeOperatorFormat(CsvFormat):
    """Tweets to and from the French operator Free: no reply links, brand known by account."""

    name = "free_fr"
    label = "French operator (Free)"
    columns = ("tweet_id", "author", "text", "date", "url")
    stray_newline_n = True

    def parse(self, frame: pd.DataFrame) -> ParsedChunk:
        rejects: list[tuple[int, str]] = []
        frame = self._reject(frame, frame["tweet_id"].str.strip() == "", "missing tweet_id", rejects)
        frame = self._reject(frame, frame["author"].str.strip() == "", "missing author", rejects)
        created = _dates(frame["date"].str.strip(), format="ISO8601")
        frame = self._reject(frame, created.isna(), "bad date: expected an ISO date like '2020-12-28 07:26:23+00:00'",
                             rejects)
        brands = {a.strip().casefold() for a in settings.DALLOSH_INGEST.fr_brand_accounts}
        author = frame["author"].str.strip()
        tweets = pd.DataFrame({
            "row": frame["row"],
            "tweet_id": frame["tweet_id"].str.strip(),
            "author": author,
            "is_brand": author.str.casefold().isin(brands),
            "created_at": created.loc[frame.index],
            "text": frame["text"],
            "reply_to_id": "",
            "response_ids": [[] for _ in range(len(frame))],
        })
        return ParsedChunk(tweets, rejects)


class EmailFormat(CsvFormat):
    """E-mails as ingestion/mail.py reads them (never a CSV file's format: their door is the
    mailbox, .eml/.mbox files and raw RFC 822). The message key is the Message-ID's."""

    name = "email"
    label = "E-mail"
    columns = ("message_key", "sender", "is_brand", "date", "text", "parent_key", "is_automated", "mail")
    channel = EMAIL

    def parse(self, frame: pd.DataFrame) -> ParsedChunk:
        created = _dates(frame["date"], format="ISO8601")
        messages = pd.DataFrame({
            "row": frame["row"],
            "tweet_id": frame["message_key"],
            "author": frame["sender"],
            "is_brand": frame["is_brand"] == "true",
            "created_at": created,
            "text": frame["text"],
            "reply_to_id": frame["parent_key"],
            "response_ids": [[] for _ in range(len(frame))],
            "is_automated": frame["is_automated"] == "true",
            "mail": frame["mail"].map(json.loads),
        })
        return ParsedChunk(messages, [])


class CallFormat(CsvFormat):
    """Call transcripts as ingestion/transcripts.py reads them: one call, one message, whose
    text is the customer's turns (its door is the transcript upload and API, never a CSV)."""

    name = "call"
    label = "Call"
    columns = ("call_id", "caller", "date", "text", "call")
    channel = CALL

    def parse(self, frame: pd.DataFrame) -> ParsedChunk:
        calls = pd.DataFrame({
            "row": frame["row"],
            "tweet_id": frame["call_id"],
            "author": frame["caller"],
            "is_brand": False,
            "created_at": _dates(frame["date"], format="ISO8601"),
            "text": frame["text"],
            "reply_to_id": "",
            "response_ids": [[] for _ in range(len(frame))],
            "call": frame["call"].map(json.loads),
        })
        return ParsedChunk(calls, [])


FORMATS: tuple[CsvFormat, ...] = (TwcsFormat(), FreeOperatorFormat())  # a CSV file's, detected by its columns
EMAIL_FORMAT = EmailFormat()
CALL_FORMAT = CallFormat()


def detect_format(columns: list[str]) -> CsvFormat:
    """A file's format, from its header: the message speaks of a header and its columns."""
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise UnknownFormat(_("the header repeats column(s) %(names)s: which one holds the data?")
                            % {"names": ", ".join(repeated)})
    return _the_one_format(
        columns,
        several=_("the header has the columns of several formats (%(formats)s); pass the format explicitly"),
        unknown=_("unknown CSV format: the columns are [%(found)s]; expected one of: %(expected)s"))


def detect_tweet_format(fields: list[str]) -> CsvFormat:
    """A JSON tweet's format, from its fields: the stream's client sends objects, not a file,
    so the message names the fields each format needs (no header, no columns)."""
    return _the_one_format(
        fields,
        several=_("the tweets have the fields of several formats (%(formats)s); choose one with ?format="),
        unknown=_("unknown tweet format: the tweets' fields are [%(found)s]; each tweet needs the fields of "
                  "one format: %(expected)s"))


def _the_one_format(names: list[str], *, several: str, unknown: str) -> CsvFormat:
    """The one format these names (columns or fields) match, else the message for the case."""
    matching = [fmt for fmt in FORMATS if fmt.matches(names)]
    if len(matching) > 1:
        raise UnknownFormat(several % {"formats": ", ".join(f.name for f in matching)})
    if matching:
        return matching[0]
    expected = "; ".join(f"{f.name} ({f.label}): {', '.join(f.columns)}" for f in FORMATS)
    found = ", ".join(name or _("<unnamed>") for name in names[:20])
    raise UnknownFormat(unknown % {"found": found, "expected": expected})


def format_by_name(name: str) -> CsvFormat:
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise UnknownFormat(_("unknown format %(name)r; known: %(known)s")
                        % {"name": name, "known": ", ".join(f.name for f in FORMATS)})


def _dates(values: pd.Series, *, format: str) -> pd.Series:
    """Parsed UTC dates, NaT where a value is no date. Also NaT where pandas reads a year
    Python's datetime cannot hold (ISO8601 takes "-1" or "0000-01-01" for years -1 and 0):
    such a row is a bad date to quarantine, not a chunk that fails on every resume."""
    dates = pd.to_datetime(values, format=format, errors="coerce", utc=True)
    return dates.where(dates.dt.year.between(1, 9999))


def _integer_id(value: str) -> str:
    """Tweet ids as canonical strings: pandas wrote reply ids as floats ("4.0")."""
    return value.split(".", 1)[0] if value else ""


def _id_list(value: str) -> list[str]:
    return [_integer_id(v.strip()) for v in value.split(",") if v.strip()] if value else []
