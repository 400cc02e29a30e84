"""The chunked CSV reader: nothing lost, every record with its raw text and position."""

import io

import pytest

from ingestion.reader import UnreadableFile, iter_chunks, read_header

pytestmark = pytest.mark.no_servers


def records_of(data: bytes, chunk_rows: int = 1000):
    header = read_header(io.BytesIO(data))
    return [r for chunk in iter_chunks(io.BytesIO(data), header, chunk_rows=chunk_rows) for r in chunk.records]


def test_bare_carriage_returns_stay_inside_the_field_of_tweet_3399(shared_data):
    with (shared_data / "twcs_sample.csv").open("rb") as stream:
        header = read_header(stream)
        records = [r for c in iter_chunks(stream, header, chunk_rows=700) for r in c.records]
    assert len(records) == 5000
    assert all(r.error is None for r in records)
    tweet = next(r for r in records if r.fields[1] == "3399")
    assert tweet.fields[5].startswith("@AskPayPal \r\rI just love the start of email")
    assert tweet.fields[6:] == ["3398", ""]


def test_broken_quote_is_isolated_and_the_following_rows_survive():
    data = b'a,b,c\n1,"open,x\n2,y,z\n3,"q""r",s\n'
    records = records_of(data)
    assert [r.row for r in records] == [0, 1, 2]
    assert records[0].fields is None and "quot" in records[0].error
    assert records[0].raw_text == '1,"open,x'
    assert records[1].fields == ["2", "y", "z"] and records[1].error is None
    assert records[2].fields == ["3", 'q"r', "s"]


def test_quoted_newlines_wrong_width_and_nul_bytes():
    data = b'a,b,c\n1,"two\nlines",x\n\n2,only-two\n3,\x00,z\n'
    records = records_of(data)
    assert records[0].fields == ["1", "two\nlines", "x"] and records[0].line == 2
    assert records[1].error == "expected 3 fields, found 2" and records[1].line == 5
    assert records[2].error == "NUL byte inside the record"


def test_bom_and_latin1_lines_are_decoded():
    data = "\ufeffid,text\n".encode() + "1,déjà vu\n".encode("latin-1") + "2,ça marche\n".encode()
    header = read_header(io.BytesIO(data))
    assert header.columns == ["id", "text"] and header.encoding == "utf-8-sig"
    assert [r.fields[1] for r in records_of(data)] == ["déjà vu", "ça marche"]


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"\n\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    (b"just one column\nvalue\n", "not a comma-separated file"),
])
def test_unreadable_files_are_refused_with_a_reason(data, reason):
    with pytest.raises(UnreadableFile, match=reason):
        read_header(io.BytesIO(data))


def test_resuming_at_an_offset_yields_the_remaining_records():
    data = b"a,b\n" + b"".join(f'{i},"t{i}\nx"\n'.encode() for i in range(10))
    header = read_header(io.BytesIO(data))
    chunks = list(iter_chunks(io.BytesIO(data), header, chunk_rows=4))
    resumed = list(iter_chunks(io.BytesIO(data), header, chunk_rows=4, start_row=4, start_offset=chunks[0].end_offset))
    assert [r.fields for c in resumed for r in c.records] == [r.fields for c in chunks[1:] for r in c.records]
    assert resumed[0].records[0].line == chunks[1].records[0].line == 10


def test_chunks_are_bounded_by_bytes_as_well_as_rows():
    rows = [f'{i},"{"y" * 1000}"\n'.encode() for i in range(10)]  # about 1 KB a record
    data = b"a,b\n" + b"".join(rows)
    header = read_header(io.BytesIO(data))
    chunks = list(iter_chunks(io.BytesIO(data), header, chunk_rows=1000, chunk_bytes=3000))
    assert [len(c.records) for c in chunks] == [3, 3, 3, 1]
    assert [r.fields[0] for c in chunks for r in c.records] == [str(i) for i in range(10)]


def test_a_record_over_a_megabyte_is_refused_with_its_size_and_digest():
    """Twenty fields of 900,000 characters over several lines: 18 MB, more than a MongoDB
    document holds. It becomes one quarantined record; the rows after it are read."""
    huge = ",".join(f'"{"z" * 450_000}\n{"z" * 450_000}"' for _ in range(20))
    data = b"a,b\n" + huge.encode() + b"\n1,after\n"
    header = read_header(io.BytesIO(data))
    first, after = [r for c in iter_chunks(io.BytesIO(data), header, chunk_rows=10) for r in c.records]
    # 20 fields of 900,003 bytes (quotes and a line break each), 19 commas, the newline
    assert first.fields is None and first.error.startswith("record too large: 18,000,080 bytes")
    assert len(first.raw_text) == 4096
    assert after.fields == ["1", "after"]
