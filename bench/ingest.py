"""Ingest benchmark: the whole ingest+clean stage on millions of rows, against a bare insert.

    .venv/bin/python bench/ingest.py [--rows 2800000] [--chunk-rows 10000]

The data is SCALED: ../shared/data/twcs_sample.csv (5,000 real rows) repeated with shifted
ids (each copy adds a multiple of 10,000,000 to every tweet id, reply link and numeric
customer id) until it has --rows rows. Each copy's texts also end with a copy tag (" ·N"),
or every copy would be, rightly, marked a duplicate of the first and make no ticket.
The ingest runs end to end (raw store + parse + clean + threads +
duplicates + tickets) against a fresh SecantusDB server; then, on the same server, the
exact documents the ingest wrote are re-inserted with bare `insert_many` (same batch
size, same indexes) into another database. The ratio of the two rates shows the
pipeline's overhead. Peak RSS is this process's (the pipeline), measured by the kernel.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT.parent / "shared" / "data" / "twcs_sample.csv"
ID_SHIFT = 10_000_000


def build_scaled_csv(target: Path, rows: int) -> None:
    """Write `rows` rows: the sample repeated, each copy's ids shifted by copy * ID_SHIFT."""
    from ingestion.reader import iter_chunks, read_header

    with SAMPLE.open("rb") as stream:
        header = read_header(stream)
        sample = [r.fields for chunk in iter_chunks(stream, header, chunk_rows=10_000) for r in chunk.records]
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header.columns)
        written, copy = 0, 0
        while written < rows:
            shift = copy * ID_SHIFT
            for _index, tweet_id, author, inbound, created, text, responses, in_reply in sample:
                if written >= rows:
                    break
                writer.writerow([written, int(tweet_id) + shift, _shift_author(author, shift), inbound, created,
                                 f"{text} ·{copy}" if copy else text,
                                 ",".join(str(int(r) + shift) for r in responses.split(",") if r),
                                 f"{float(in_reply) + shift:.1f}" if in_reply else ""])
                written += 1
            copy += 1


def _shift_author(author: str, shift: int) -> str:
    return str(int(author) + shift) if author.isdigit() else author


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_800_000)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=None, help="where the scaled CSV and the database go")
    args = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE} not found: the benchmark needs ../shared/data beside the project")

    from config import embedded

    (ROOT / "var").mkdir(exist_ok=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / "var"))
    workdir.mkdir(parents=True, exist_ok=True)
    scaled = workdir / f"twcs_scaled_{args.rows}.csv"
    if not scaled.exists():
        print(f"building {scaled.name}: twcs_sample.csv (5,000 real rows) repeated with ids shifted by "
              f"{ID_SHIFT:,} per copy and a copy tag on texts, up to {args.rows:,} rows — SCALED DATA", flush=True)
        build_scaled_csv(scaled, args.rows)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # so the server below is stopped
    port = embedded.free_port()
    server = embedded.start_secantus(port=port, storage=workdir / f"mongo-{port}", log=workdir / "mongodb.log")
    os.environ["MONGODB_URI"] = embedded.mongo_uri(port, "bench_ingest")
    os.environ["DALLOSH_INGEST_CHUNK_ROWS"] = str(args.chunk_rows)
    # The ingest stage alone: no broker here, analysis is measured by bench/analysis.py
    os.environ["DALLOSH_ANALYSIS_AUTO_ENQUEUE"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # benchmarks run on the embedded default
    try:
        run(scaled, args, port)
    finally:
        server.stop()


def run(scaled: Path, args, port: int) -> None:
    import django

    django.setup()
    import psutil
    from pymongo import MongoClient

    from config import embedded
    from dallosh import mongo
    from ingestion import services

    mongo.ensure_indexes()
    size_mb = scaled.stat().st_size / 1e6
    print(f"ingesting {scaled.name} ({size_mb:,.0f} MB, {args.rows:,} rows) in chunks of {args.chunk_rows:,}",
          flush=True)
    server_proc = psutil.Process(_server_pid(port))
    server_peak = 0.0
    marks = iter(range(10, 101, 10))
    next_mark = next(marks)
    started = time.perf_counter()

    def progress(job, _outcome):
        nonlocal next_mark, server_peak
        server_peak = max(server_peak, server_proc.memory_info().rss / 1e6)
        pct = 100 * job.next_row / args.rows
        if pct >= next_mark:
            elapsed = time.perf_counter() - started
            print(f"  {pct:5.1f} %  {job.next_row:>10,} rows  {job.next_row / elapsed:8,.0f} rows/s  "
                  f"peak RSS {peak_rss_mb():,.0f} MB", flush=True)
            next_mark = next(marks, 1000)

    job = services.ingest_file(path=scaled, on_progress=progress)
    ingest_s = time.perf_counter() - started
    counters = job.counters.to_mongo().to_dict()

    client = MongoClient(embedded.mongo_uri(port))
    source, target = client["bench_ingest"], client["bench_baseline"]
    collections = [name for name in source.list_collection_names() if name != "ingest_jobs"]
    written = {name: source[name].estimated_document_count() for name in collections}
    for name in collections:
        for index in source[name].list_indexes():
            if index["name"] != "_id_":
                target[name].create_index(list(index["key"].items()), unique=index.get("unique", False))
    insert_s = 0.0
    for name in collections:
        batch = []
        for document in source[name].find().batch_size(args.chunk_rows):
            batch.append(document)
            if len(batch) >= args.chunk_rows:
                insert_s += _timed_insert(target[name], batch)
                batch = []
        if batch:
            insert_s += _timed_insert(target[name], batch)
    total_docs = sum(written.values())
    pipeline_rate, bare_rate = args.rows / ingest_s, args.rows / insert_s
    print()
    print("SCALED DATA: twcs_sample.csv repeated with shifted ids and copy-tagged texts")
    print(f"rows                      {args.rows:>12,}")
    print(f"documents written         {total_docs:>12,}  " + ", ".join(f"{k} {v:,}" for k, v in written.items()))
    print(f"job counters              {counters}")
    print(f"ingest end to end         {ingest_s:>12,.1f} s   {pipeline_rate:>10,.0f} rows/s")
    print(f"bare insert_many          {insert_s:>12,.1f} s   {bare_rate:>10,.0f} rows/s "
          f"({total_docs / insert_s:,.0f} docs/s)")
    print(f"ratio pipeline/bare       {pipeline_rate / bare_rate:>12.2f}   (target >= 0.7)")
    print(f"peak RSS (pipeline)       {peak_rss_mb():>12,.0f} MB  (target < 1500 MB)")
    print(f"peak RSS (SecantusDB)     {server_peak:>12,.0f} MB")


def _timed_insert(collection, batch: list[dict]) -> float:
    started = time.perf_counter()
    collection.insert_many(batch, ordered=False)
    return time.perf_counter() - started


def _server_pid(port: int) -> int:
    import psutil

    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            return conn.pid
    raise RuntimeError(f"no process listens on {port}")


if __name__ == "__main__":
    main()
