"""A corpus of hostile CSV files, each with what must come of it, known by construction.

Used by tests/ingestion/test_hostile_inputs.py and by bench/reliability.py (which adds the 2 GB
file). A file is either refused as a whole (`refused`: words the error must contain) or
read, and then every row is accounted for: `stored` tweets and `quarantined` rows per
reason kind, adding up to `rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TWCS_HEADER = "tweet_id,author_id,inbound,created_at,text,response_tweet_id,in_response_to_tweet_id\n"


def good_row(tweet_id: int, text: str = "my fibre is down again") -> str:
    minute = tweet_id % 60
    return f'{tweet_id},customer{tweet_id},True,Tue Oct 31 10:{minute:02d}:00 +0000 2017,"{text}",,\n'


def good_rows(first: int, count: int) -> str:
    return "".join(good_row(first + n) for n in range(count))


@dataclass(frozen=True)
class Hostile:
    name: str
    content: bytes
    refused: str | None = None
    stored: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.stored + sum(self.quarantined.values())


def corpus() -> list[Hostile]:
    giant = "x" * 1_500_000  # over the reader's 1,000,000-character field limit
    long_line = "y" * 12_000_000  # one physical line over the 4 MB line limit
    return [
        Hostile("wrong_delimiter.csv", (TWCS_HEADER + good_rows(1, 3)).replace(",", ";").encode(),
                refused="not a comma-separated file"),
        Hostile("missing_columns.csv", b"tweet_id,author_id,created_at\n1,a,2017\n",
                refused="unknown CSV format"),
        Hostile("repeated_columns.csv", (TWCS_HEADER.rstrip("\n") + ",text\n").encode() + b"1,a,True,x,t,,,u\n",
                refused=r"repeats column\(s\) text"),
        Hostile("extra_columns.csv",
                (TWCS_HEADER.rstrip("\n") + ",country\n" + "".join(good_row(n).rstrip("\n") + ",fr\n"
                                                                   for n in range(1, 4))).encode(),
                stored=3),
        Hostile("bad_dates.csv", (TWCS_HEADER + good_rows(1, 3)
                                  + '4,c4,True,yesterday,"x",,\n5,c5,True,2017-13-45 99:99,"y",,\n').encode(),
                stored=3, quarantined={"bad created_at": 2}),
        Hostile("giant_field.csv", (TWCS_HEADER + good_row(1) + good_row(2, giant) + good_row(3)).encode(),
                stored=2, quarantined={"broken quoting or field": 1}),
        Hostile("long_line.csv", (TWCS_HEADER + good_row(1) + f"2,c2,True,{long_line}\n" + good_row(3)).encode(),
                stored=2, quarantined={"line too long": 1}),
        Hostile("nul_bytes.csv", (TWCS_HEADER + good_row(1) + good_row(2, "nul \x00 inside") + good_row(3)).encode(),
                stored=2, quarantined={"NUL byte inside the record": 1}),
        Hostile("mixed_encodings.csv", TWCS_HEADER.encode() + good_row(1, "débit à zéro").encode("utf-8")
                + good_row(2, "débit à zéro").encode("latin-1") + good_row(3, "“coupé” €").encode("cp1252"),
                stored=3),
        Hostile("unbalanced_quotes.csv", (TWCS_HEADER + good_row(1)
                                          + '2,c2,True,Tue Oct 31 10:02:00 +0000 2017,"never closed,,\n'
                                          + good_rows(3, 3)).encode(),
                stored=4, quarantined={"broken quoting or field": 1}),
        Hostile("empty.csv", b"", refused="empty"),
        Hostile("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 64, refused="binary"),
    ]
