"""Chunked CSV reading that loses nothing.

Why not `pandas.read_csv(chunksize=...)`: its C parser treats a bare `\\r` inside a field as
a line end (tweet 3399 of the twcs sample becomes two garbage rows) and can only skip or
warn about a malformed line, without giving it back. This reader splits the byte stream on
`\\n` only, decodes line by line (UTF-8, BOM, or a Latin-1/cp1252 line amid UTF-8), parses
with the stdlib's C `csv` reader, and yields bounded chunks of records, each with its row
number, line number and exact raw text, so a malformed record is quarantined, not dropped.
The chunks then go to pandas for parsing and cleaning.
"""

from __future__ import annotations

import csv
import hashlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

CR_PLACEHOLDER = "\ue000"
MAX_FIELD_CHARS = 1_000_000
MAX_RECORD_LINES = 200  # an unbalanced quote must not swallow the rest of the file
MAX_LINE_BYTES = 4 * MAX_FIELD_CHARS + 4096  # the longest field in UTF-8, and the rest of its line
LINE_PREVIEW_BYTES = 4096  # what is kept of a longer line (with its size and sha256)
# A tweet's row is a few KB; a record over this is quarantined with a preview, its size and
# sha256, so no document comes near MongoDB's 16 MB limit (a raw row holds the whole record).
MAX_RECORD_BYTES = 1 << 20
csv.field_size_limit(MAX_FIELD_CHARS)


class UnreadableFile(ValueError):
    """The file is empty, binary, or not CSV at all: refused as a whole, with a reason."""


@dataclass(slots=True)
class RawRecord:
    row: int  # 0-based data row number (header excluded)
    line: int  # 1-based physical line where the record starts
    raw_text: str
    fields: list[str] | None
    error: str | None = None
    raw_bytes: bytes | None = None  # a message kept as bytes (an e-mail), not as text


@dataclass(slots=True)
class Chunk:
    records: list[RawRecord]
    end_offset: int  # byte offset just after the chunk's last record


@dataclass
class CsvHeader:
    columns: list[str]
    encoding: str
    data_offset: int  # byte offset of the first data line
    notes: list[str] = field(default_factory=list)


def decode_line(raw: bytes, default: str) -> tuple[str, str]:
    """Decode one physical line; a line that is not valid UTF-8 is read as cp1252/Latin-1."""
    try:
        return raw.decode(default), default
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "latin-1"


def read_header(stream: BinaryIO) -> CsvHeader:
    """Read and validate the header line; refuse empty, binary and non-CSV files clearly."""
    stream.seek(0)
    first = stream.readline(1_000_000)
    if not first.strip():
        raise UnreadableFile("the file is empty: no header line")
    sample = first + stream.read(4096)
    if b"\x00" in sample[:4096] and b"\x00\x00" in sample:
        raise UnreadableFile("the file looks binary (NUL bytes in its first lines), not a CSV file")
    bom = first.startswith(b"\xef\xbb\xbf")
    text, encoding = decode_line(first[3:] if bom else first, "utf-8")
    columns = next(csv.reader([text.rstrip("\r\n")]), [])
    if len(columns) < 2:
        raise UnreadableFile(f"the first line has {len(columns)} column(s): not a comma-separated file")
    notes = ["UTF-8 byte order mark removed"] if bom else []
    return CsvHeader([c.strip() for c in columns], "utf-8-sig" if bom else encoding, len(first), notes)


def iter_chunks(stream: BinaryIO, header: CsvHeader, *, chunk_rows: int, chunk_bytes: int | None = None,
                start_row: int = 0, start_offset: int | None = None) -> Iterator[Chunk]:
    """Yield chunks of at most `chunk_rows` records and about `chunk_bytes` bytes (a chunk ends
    after the record that reaches it), starting at data row `start_row`.

    `start_offset` (the byte offset where `start_row` begins, from a job's checkpoint) lets a
    resumed job seek instead of re-reading the rows already done.
    """
    if start_offset is not None and start_offset >= header.data_offset:
        stream.seek(start_offset)
        row, skip = start_row, 0
    else:
        stream.seek(header.data_offset)
        row, skip = 0, start_row
    offset = stream.tell()
    first_line = _line_number_at(stream, offset) if start_offset else 2
    width = len(header.columns)
    records: list[RawRecord] = []
    end_offset = chunk_start = offset
    for record, end_offset in _records(stream, offset, first_line):
        record.row = row
        if record.fields is not None and record.error is None and len(record.fields) != width:
            record.error = f"expected {width} fields, found {len(record.fields)}"
        row += 1
        if skip:
            skip -= 1
            chunk_start = end_offset
            continue
        records.append(record)
        if len(records) >= chunk_rows or (chunk_bytes and end_offset - chunk_start >= chunk_bytes):
            yield Chunk(records, end_offset)
            records, chunk_start = [], end_offset
    if records:
        yield Chunk(records, end_offset)


def _line_number_at(stream: BinaryIO, offset: int) -> int:
    """Physical line number at `offset` (only used when resuming, to keep messages right)."""
    here = stream.tell()
    stream.seek(0)
    count, remaining = 1, offset
    while remaining > 0:
        block = stream.read(min(remaining, 1 << 20))
        if not block:
            break
        count += block.count(b"\n")
        remaining -= len(block)
    stream.seek(here)
    return count


class _RecordTooLong(Exception):
    pass


class _LineTooLong(Exception):
    """A physical line over MAX_LINE_BYTES (say a 2 GB file without line breaks): read
    through in bounded pieces, never held whole; its record keeps a preview, the size and
    the digest, so the line can still be found and checked in the original file."""

    def __init__(self, size: int, digest: str) -> None:
        super().__init__(f"line too long: {size:,} bytes, over the limit of {MAX_LINE_BYTES:,} "
                         f"(sha256 {digest}; its first {LINE_PREVIEW_BYTES:,} bytes are kept)")


class _LineFeed:
    """Feeds decoded lines to `csv.reader`, remembering which lines each record took.

    `csv.reader` pulls exactly the lines one record needs, so the lines taken since the last
    record are that record's raw text. Lines can be pushed back: when a quote never closes,
    only the first line is quarantined and the lines after it are parsed again.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.pushback: deque[tuple[str, int]] = deque()
        self.taken: list[tuple[str, int]] = []

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        if self.pushback:
            item = self.pushback.popleft()
        else:
            raw = self.stream.readline(MAX_LINE_BYTES)
            if not raw:
                raise StopIteration
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                self._skip_long_line(raw)
            item = (decode_line(raw, "utf-8")[0], len(raw))
        if len(self.taken) >= MAX_RECORD_LINES:
            self.pushback.appendleft(item)
            raise _RecordTooLong
        self.taken.append(item)
        return _protect_bare_cr(item[0])

    def _skip_long_line(self, first: bytes) -> None:
        """Read the rest of an over-long line in pieces; it becomes one quarantined record."""
        digest, size, piece = hashlib.sha256(first), len(first), first
        while not piece.endswith(b"\n"):
            piece = self.stream.readline(1 << 20)
            if not piece:
                break
            digest.update(piece)
            size += len(piece)
        self.taken.append((decode_line(first[:LINE_PREVIEW_BYTES], "utf-8")[0], size))
        raise _LineTooLong(size, digest.hexdigest())

    def take(self) -> tuple[str, int, int]:
        """The raw text, byte size and line count of the lines taken since the last call."""
        taken, self.taken = self.taken, []
        text = "".join(t for t, _ in taken)
        return text.removesuffix("\n").removesuffix("\r"), sum(n for _, n in taken), len(taken)


def _protect_bare_cr(line: str) -> str:
    """Hide a bare CR inside a line from `csv` (which would end the record there)."""
    core = line.rstrip("\r\n")
    if "\r" not in core:
        return line
    return core.replace("\r", CR_PLACEHOLDER) + line[len(core):]


def _records(stream: BinaryIO, offset: int, line: int) -> Iterator[tuple[RawRecord, int]]:
    """Yield (record, end offset) for each non-blank record; `line` is the first line's number."""
    feed = _LineFeed(stream)
    reader = csv.reader(feed, strict=True)
    while True:
        error = None
        try:
            fields = next(reader)
        except StopIteration:
            break
        except _RecordTooLong:
            fields, error = None, f"unbalanced quote: a quoted field runs past {MAX_RECORD_LINES} lines"
        except _LineTooLong as too_long:
            fields, error = None, str(too_long)
            reader = csv.reader(feed, strict=True)  # its state held the partial record
        except csv.Error as exc:
            fields, error = None, f"broken quoting or field: {exc}"
        if error and len(feed.taken) > 1 and fields is None and not error.startswith("line too long"):
            # Quarantine the line where the broken record starts; parse the lines after it again.
            first, *rest = feed.taken
            feed.pushback.extendleft(reversed(rest))
            feed.taken = [first]
        raw_text, nbytes, lines = feed.take()
        if nbytes > MAX_RECORD_BYTES and error is None:
            digest = hashlib.sha256(raw_text.encode("utf-8", "surrogatepass")).hexdigest()
            fields, error = None, (f"record too large: {nbytes:,} bytes, over the limit of {MAX_RECORD_BYTES:,} "
                                   f"(sha256 {digest}; the first {LINE_PREVIEW_BYTES:,} bytes are kept)")
            raw_text = raw_text[:LINE_PREVIEW_BYTES]
        offset += nbytes
        start_line, line = line, line + lines
        if fields == [] and error is None:
            continue  # a blank line
        if error is None and "\x00" in raw_text:
            fields, error = None, "NUL byte inside the record"
        if fields and any(CR_PLACEHOLDER in f for f in fields):
            fields = [f.replace(CR_PLACEHOLDER, "\r") for f in fields]
        yield RawRecord(0, start_line, raw_text, fields, error), offset
