"""Reliability: LLM faults at volume, killed workers, restarted servers and hostile files,
each ended by a query that checks nothing was lost, half-written or doubled. Prints the
figures and writes them to docs/reliability.md.

    .venv/bin/python bench/reliability.py [--tweets 2000] [--big-file-gb 2] [--out docs/reliability.md]

1. LLM faults: --tweets distinct real tweets (shared data, half EN, half FR) through the
   provider chain on django-q2 workers. The OpenAI-compatible tier is the scripted fault
   server (bench/llm_servers.py) playing a seeded mix of timeouts, 429, 500, malformed JSON
   and out-of-vocabulary answers; it is switched off (connections refused) and back on mid-run.
   The Ollama tier is the official client through the Ollama-API shim to a second scripted
   server with its own faults; the last tier is a third scripted server that always answers
   (SCRIPTED: the built-in llama.cpp model would take hours for 2,000 tweets on 2 cores;
   tests/analysis/test_chain.py runs it for real). Mid-run the worker cluster is SIGKILLed and
   started again. The scripted answers follow keyword rules, so every stored label is checked
   against the rule for its own ticket's text.
2. SecantusDB restarted mid-ingest: `manage.py ingest` on a scaled CSV; the server is stopped
   and started again while it runs; the command is re-run if it gave up; rows are counted.
3. Redis killed (SIGKILL) with analysis tasks queued and an agent's websocket open: the
   client reconnects, the tasks are handed out again, the event of a ticket analysed after
   the restart reaches the client.
4. Hostile files: bench/hostile_inputs.py's corpus, and a --big-file-gb file (one line of that
   size between good rows) ingested in a child process whose peak memory is sampled.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Stack, distinct_texts, embedded_stack  # noqa: E402

FAULT_MIX = [("ok", 50), ("timeout", 8), ("429:0.2", 12), ("500", 12), ("malformed", 12), ("out_of_vocabulary", 6)]
OLLAMA_MIX = [("ok", 85), ("500", 10), ("timeout", 5)]
WORKER_ENV = {"DALLOSH_ANALYSIS_TIERS": "openai,ollama,local", "OPENAI_API_KEY": "bench", "OPENAI_MODEL": "scripted",
              "OPENAI_TIMEOUT_S": "1", "DALLOSH_OPENAI_BATCH_SIZE": "10", "OLLAMA_MODEL": "scripted",
              "OLLAMA_TIMEOUT_S": "1", "DALLOSH_LOCAL_MODEL": "smollm2-135m", "DALLOSH_LOCAL_MODEL_AUTOSTART": "0",
              "DALLOSH_ANALYSIS_LEASE_S": "15", "DALLOSH_ANALYSIS_REQUEUE_AFTER_S": "15",
              "DALLOSH_BREAKER_COOLDOWN_S": "2", "DALLOSH_Q_WORKERS": "2", "DALLOSH_ANALYSIS_TASK_TICKETS": "20"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tweets", type=int, default=2000)
    parser.add_argument("--ingest-rows", type=int, default=60_000)
    parser.add_argument("--big-file-gb", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--only", nargs="*", help="run only these scenarios (function names)")
    args = parser.parse_args()
    sections = []
    with embedded_stack(args.workdir, prefix="bench-reliability-") as stack:
        from django.conf import settings

        # This process enqueues too: the same short lease and re-enqueue delay as the workers'.
        settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(
            lease_s=float(WORKER_ENV["DALLOSH_ANALYSIS_LEASE_S"]),
            requeue_after_s=float(WORKER_ENV["DALLOSH_ANALYSIS_REQUEUE_AFTER_S"]))
        chosen = [globals()[name] for name in args.only] if args.only else SCENARIOS
        for scenario in chosen:
            started = time.perf_counter()
            title, lines, lost = scenario(stack, args)
            sections.append((title, lines, lost, time.perf_counter() - started))
            print(f"\n## {title}\n" + "\n".join(lines) + f"\ndata lost: {lost}", flush=True)
    write_report(args.out, sections, args)


# --- 1. LLM faults, a tier switched off and on, a worker cluster killed ---------------------------


def llm_faults(stack: Stack, args) -> tuple[str, list[str], int]:
    from analysis import work as analysis_work
    from bench import llm_servers as scripted
    from ingestion.services import ingest_records
    from tickets.models import Ticket

    rng = random.Random(2026)
    openai = scripted.FaultServer(name="openai", timeout_s=3).play(*_mix(rng, FAULT_MIX, 4000))
    ollama_upstream = scripted.FaultServer(name="ollama", timeout_s=3).play(*_mix(rng, OLLAMA_MIX, 4000))
    ollama = scripted.OllamaShim(upstream=ollama_upstream.url)
    local = scripted.FaultServer(name="local")
    texts = distinct_texts(args.tweets)
    records = [{"tweet_id": str(10_000_000 + n), "author_id": f"reliability{n}", "inbound": True, "text": text,
                "created_at": "Tue Oct 31 10:00:00 +0000 2017", "response_tweet_id": "",
                "in_response_to_tweet_id": None} for n, (_, text) in enumerate(texts)]
    for start in range(0, len(records), 500):
        ingest_records(records=records[start:start + 500], source="twcs")
    total = Ticket.objects(needs_analysis=True).count()
    env = {**WORKER_ENV, "OPENAI_BASE_URL": openai.url, "OLLAMA_HOST": ollama.url,
           "DALLOSH_LOCAL_MODEL_URL": local.url}
    cluster = start_cluster(env, stack)
    analysis_work.enqueue_pending(limit=total)
    events, started = [], time.perf_counter()

    last_print = [0.0]

    def analysed() -> int:
        done = Ticket.objects(needs_analysis=False, analysis__exists=True).count()
        if time.monotonic() - last_print[0] > 10:
            last_print[0] = time.monotonic()
            print(f"  {time.perf_counter() - started:5.0f} s  analysed {done:,} of {total:,}, claimed "
                  f"{Ticket.objects(analysis_claim__ne=None).count()}", flush=True)
        return done

    def at(share: float) -> None:
        while analysed() < share * total:
            time.sleep(0.2)

    at(0.2)
    openai.close()
    events.append(f"OpenAI tier switched off (connections refused) at {analysed():,} analysed")
    at(0.45)
    openai = scripted.FaultServer(name="openai", timeout_s=3, port=openai.port).play(*_mix(rng, FAULT_MIX, 4000))
    events.append(f"OpenAI tier switched back on at {analysed():,} analysed")
    at(0.6)
    os.killpg(cluster.pid, signal.SIGKILL)
    cluster.wait()
    held = Ticket.objects(analysis_claim__ne=None).count()
    events.append(f"worker cluster SIGKILLed at {analysed():,} analysed, holding {held} claimed tickets; restarted")
    cluster = start_cluster(env, stack)
    deadline = time.monotonic() + 600
    while analysed() < total and time.monotonic() < deadline:
        time.sleep(1)
    elapsed = time.perf_counter() - started
    stop_cluster(cluster)
    requests = {"openai": len(openai.requests), "ollama": len(ollama_upstream.requests), "local": len(local.requests)}
    for server in (openai, ollama_upstream, local):
        server.close()
    ollama.close()
    return "LLM faults at volume", fault_report(total, elapsed, events, requests), count_unanalysed(total)


def fault_report(total: int, elapsed: float, events: list[str], requests: dict) -> list[str]:
    from bench.llm_servers import expected_labels
    from tickets.models import Ticket

    collection = Ticket._get_collection()
    tiers, retries, fallbacks, wrong_labels, wrong_ticket = Counter(), 0, Counter(), 0, 0
    for ticket in collection.find({}, {"analysis": 1, "team": 1}):
        analysis = ticket.get("analysis") or {}
        tiers[analysis.get("provider")] += 1
        retries += max(analysis.get("attempts", 1) - 1, 0)
        fallbacks.update(reason.split(" (")[0] for reason in analysis.get("fallbacks", []))
        expected = expected_labels(analysis.get("input_text", ""))
        if any(analysis.get(field) != expected[field] for field in ("sentiment", "topic", "urgency")):
            wrong_labels += 1
        answered_text = analysis.get("summary", "").partition(" read: ")[2]  # "<tier> read: <its text>"
        if analysis and not analysis.get("input_text", "").startswith(answered_text):
            wrong_ticket += 1
    half = collection.count_documents({"$or": [
        {"needs_analysis": False, "analysis": None}, {"needs_analysis": False, "team": None},
        {"analysis": {"$ne": None}, "needs_analysis": False, "routed_at": None}]})
    queued = collection.count_documents({"needs_analysis": True})
    tickets = collection.count_documents({})
    lines = [f"- {total:,} tickets (distinct real tweets, half EN half FR) analysed in {elapsed:,.0f} s on 2 worker "
             "processes", *[f"- {event}" for event in events],
             "- answered by tier: " + ", ".join(f"{tier} {count:,}" for tier, count in tiers.most_common()),
             "- requests received: " + ", ".join(f"{tier} {count:,}" for tier, count in requests.items()),
             f"- retries on the answering tier: {retries:,}; fallbacks by cause: "
             + ", ".join(f"{reason} {count:,}" for reason, count in fallbacks.most_common()),
             f"- invariant (query at the end): {tickets:,} tickets for {total:,} tweets (duplicated: "
             f"{tickets - total}), analysed {total - queued:,}, still queued {queued}, half-written {half}",
             f"- every label checked against the scripted rule for its own ticket's text: {wrong_labels} wrong, "
             f"{wrong_ticket} answers on the wrong ticket"]
    return lines


def count_unanalysed(total: int) -> int:
    from tickets.models import Ticket

    return total - Ticket.objects(needs_analysis=False, analysis__exists=True, team__ne=None).count()


def start_cluster(env: dict, stack: Stack) -> subprocess.Popen:
    full = {**os.environ, **env, "REDIS_URL": stack.redis.url}
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=full,
                            stdout=(stack.workdir / "qcluster.log").open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_cluster(cluster: subprocess.Popen) -> None:
    os.killpg(cluster.pid, signal.SIGTERM)
    try:
        cluster.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()


def _mix(rng: random.Random, shares: list[tuple[str, int]], count: int) -> list[str]:
    return rng.choices([step for step, _ in shares], weights=[weight for _, weight in shares], k=count)


# --- 2. SecantusDB restarted mid-ingest ------------------------------------------------------------


def mongo_restart_mid_ingest(stack: Stack, args) -> tuple[str, list[str], int]:
    from bench.ingest import build_scaled_csv
    from ingestion.models import IngestJob, QuarantinedRow, RawRow, Tweet

    path = stack.workdir / f"twcs_scaled_{args.ingest_rows}.csv"
    if not path.exists():
        build_scaled_csv(path, args.ingest_rows)
    before = {"raw": RawRow.objects.count(), "tweets": Tweet.objects.count(),
              "quarantined": QuarantinedRow.objects.count()}
    command = [sys.executable, "manage.py", "ingest", str(path), "--no-progress"]
    env = {**os.environ, "MONGODB_URI": os.environ["MONGODB_URI"]}
    log = (stack.workdir / "ingest.log").open("ab")
    runs, events = 1, []
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    while (IngestJob.objects(path=str(path)).first() or IngestJob()).next_row < args.ingest_rows * 0.35:
        time.sleep(0.2)
    done = IngestJob.objects(path=str(path)).first().next_row
    stack.restart_mongo(down_s=3)
    events.append(f"SecantusDB stopped at row {done:,} of {args.ingest_rows:,}, started again 3 s later")
    code = process.wait()
    while code != 0 and runs < 5:
        events.append(f"the ingest command exited with {code} while the server was away; run again")
        runs += 1
        code = subprocess.call([*command, "--take-over"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    job = IngestJob.objects(path=str(path)).first()
    counters = job.counters
    raw = RawRow.objects.count() - before["raw"]
    tweets = Tweet.objects.count() - before["tweets"]
    quarantined = QuarantinedRow.objects.count() - before["quarantined"]
    lost = args.ingest_rows - raw
    doubled = max(raw - args.ingest_rows, 0) + max(tweets - counters.tweets_created, 0)
    lines = [f"- {args.ingest_rows:,} rows (SCALED DATA: twcs_sample.csv repeated with shifted ids), "
             "`manage.py ingest`",
             *[f"- {event}" for event in events],
             f"- job {job.status} after {runs} run(s): rows read {counters.rows_read:,} = tweets "
             f"{counters.tweets_created:,} + quarantined {counters.quarantined:,}",
             f"- stored: raw rows {raw:,}, tweets {tweets:,}, quarantined {quarantined:,}; lost {lost}, "
             f"doubled {doubled}"]
    return "SecantusDB restarted mid-ingest", lines, lost + doubled


# --- 3. Redis killed with tasks queued and a websocket open --------------------------------------


def redis_restart(stack: Stack, args) -> tuple[str, list[str], int]:
    import websocket
    from django.test import Client

    from analysis import work as analysis_work
    from bench import llm_servers as scripted
    from bench.live import _agent, _session, _wait_for_port
    from config import embedded
    from ingestion.services import ingest_records
    from tickets.models import Ticket

    model = scripted.FaultServer(name="openai")
    env = {**WORKER_ENV, "DALLOSH_ANALYSIS_TIERS": "openai", "OPENAI_BASE_URL": model.url}
    port = embedded.free_port()
    daphne = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "config.asgi:application"], cwd=ROOT, env={**os.environ, "REDIS_URL": stack.redis.url},
                              stdout=(stack.workdir / "daphne.log").open("ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    _wait_for_port(port)
    cookie = f"sessionid={_session(Client(), _agent('reliability-agent'))}"
    received: list[dict] = []
    socket_state: dict = {"connects": []}

    def listen() -> None:  # what static/dallosh/live.js does: reconnect with backoff on close
        while not socket_state.get("stop"):
            try:
                ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws/queues/tech/", timeout=5,
                                                 cookie=cookie, origin=f"http://127.0.0.1:{port}")
                socket_state["connects"].append(time.time())
                while not socket_state.get("stop"):
                    try:
                        message = ws.recv()
                    except websocket.WebSocketTimeoutException:
                        continue
                    if not message:
                        break
                    received.append(json.loads(message))
            except (websocket.WebSocketException, OSError):
                time.sleep(0.5)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    while not socket_state["connects"]:
        time.sleep(0.1)
    queued = [{"tweet_id": str(20_000_000 + n), "author_id": f"redis{n}", "inbound": True,
               "text": f"my fibre is down in street {n}", "created_at": "Tue Oct 31 11:00:00 +0000 2017",
               "response_tweet_id": "", "in_response_to_tweet_id": None} for n in range(200)]
    ingest_records(records=queued, source="twcs")
    enqueued = analysis_work.enqueue_pending(limit=1000)
    killed_at = time.time()
    stack.restart_redis(hard=True, down_s=2)
    restarted_at = time.time()
    cluster = start_cluster(env, stack)
    ids = [f"twcs:{20_000_000 + n}" for n in range(200)]
    deadline = time.monotonic() + 300
    while Ticket.objects(id__in=ids, needs_analysis=False).count() < len(ids) and time.monotonic() < deadline:
        time.sleep(1)
    all_done = time.time() - restarted_at
    analysed = Ticket.objects(id__in=ids, needs_analysis=False, team__ne=None).count()
    time.sleep(2)
    delivered = {event.get("id") for event in received if event.get("sent_at", 0) > restarted_at}
    after_kill = [at - killed_at for at in socket_state["connects"] if at > killed_at]
    socket_state["stop"] = True
    stop_cluster(cluster)
    os.killpg(daphne.pid, signal.SIGTERM)
    daphne.wait(timeout=20)
    model.close()
    lines = [f"- 200 new tickets ({enqueued} enqueued on the broker), then Redis SIGKILLed (its queue lost) "
             "and started again 2 s later",
             f"- the sweeper handed the tickets out again: {analysed} of 200 analysed {all_done:,.0f} s after the "
             "restart (queued tickets are re-enqueued once unclaimed for DALLOSH_ANALYSIS_REQUEUE_AFTER_S, 15 s "
             "here, 10 min by default)",
             "- an agent's websocket, reconnecting with backoff as live.js does: first reconnected "
             + (f"{after_kill[0]:,.1f} s after the kill ({len(after_kill)} connections after it: Daphne drops "
                "sockets while its channel layer cannot reach Redis)" if after_kill else "NEVER"),
             f"- events of tickets analysed after the restart that reached it: {len(delivered & set(ids))} of "
             f"{analysed}"]
    return "Redis killed with tasks queued and websockets open", lines, 200 - analysed


# --- 4. Hostile files --------------------------------------------------------------------------------


def hostile_files(stack: Stack, args) -> tuple[str, list[str], int]:
    from bench.hostile_inputs import TWCS_HEADER, Hostile, corpus, good_rows

    directory = stack.workdir / "hostile"
    directory.mkdir(exist_ok=True)
    lines, lost = [], 0
    for hostile in corpus():
        path = directory / hostile.name
        path.write_bytes(hostile.content)
        outcome, missing, _ = ingest_child(path, hostile, stack)
        lost += missing
        lines.append(f"- {hostile.name} ({len(hostile.content):,} bytes): {outcome}")
    big = directory / "two_gigabytes.csv"
    size = int(args.big_file_gb * 1e9)
    with big.open("wb") as out:
        out.write((TWCS_HEADER + good_rows(30_000_001, 1000)).encode())
        out.write(b"30001001,c,True,")
        block = b"z" * (1 << 20)
        for _ in range(size // len(block)):
            out.write(block)
        out.write(b"\n" + good_rows(30_001_002, 1000).encode())
    expected = Hostile(big.name, b"", stored=2000, quarantined={"line too long": 1})
    outcome, missing, peak = ingest_child(big, expected, stack)
    lost += missing
    lines.append(f"- {big.name} ({big.stat().st_size / 1e9:,.2f} GB: 1,000 good rows, one line of "
                 f"{size / 1e9:,.2f} GB, 1,000 good rows): {outcome}; peak memory of the ingest process "
                 f"{peak / 1e6:,.0f} MB")
    big.unlink()
    return f"Hostile files ({len(corpus()) + 1} tried)", lines, lost


def ingest_child(path: Path, hostile, stack: Stack) -> tuple[str, int, int]:
    """Ingest `path` with `manage.py ingest` in a child process (peak RSS sampled); the
    outcome in words, rows unaccounted for, peak bytes."""
    import psutil

    from ingestion.models import IngestJob, QuarantinedRow, Tweet

    process = subprocess.Popen([sys.executable, "manage.py", "ingest", str(path), "--no-progress",
                                "--source", path.stem], cwd=ROOT, env=os.environ.copy(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    output = process.stdout.read().decode(errors="replace").strip().splitlines()
    if hostile.refused:
        clear = process.returncode != 0 and any(hostile.refused.replace("\\", "") in line for line in output)
        return f"refused: “{output[-1] if output else ''}”" + ("" if clear else " (UNEXPECTED)"), 0, peak
    job = IngestJob.objects(path=str(path)).order_by("-created_at").first()
    counters = job.counters
    tweets = Tweet.objects(source=path.stem).count()
    reasons = dict(job.quarantine_reasons)
    reconciled = counters.rows_read == tweets + QuarantinedRow.objects(job=job.id).count() == hostile.rows
    as_expected = reasons == hostile.quarantined and tweets == hostile.stored
    outcome = (f"read {counters.rows_read:,} rows = {tweets:,} stored + {counters.quarantined:,} quarantined "
               f"({', '.join(f'{k}: {v}' for k, v in reasons.items()) or 'none'})"
               + ("" if reconciled and as_expected else " (UNEXPECTED)"))
    return outcome, max(hostile.rows - counters.rows_read, 0), peak


SCENARIOS = [llm_faults, redis_restart, mongo_restart_mid_ingest, hostile_files]


# --- the report --------------------------------------------------------------------------------------


def write_report(out: Path, sections: list, args) -> None:
    total_lost = sum(lost for _, _, lost, _ in sections)
    lines = ["# Reliability figures", "",
             f"Produced by `.venv/bin/python bench/reliability.py` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
             f"(2 CPU cores; SecantusDB and Redis embedded). Data lost across all scenarios: **{total_lost}**.", ""]
    for title, body, lost, seconds in sections:
        lines += [f"## {title}", "", *body, f"- data lost: **{lost}** ({seconds:,.0f} s)", ""]
    lines += ["What each scenario does is in the docstring of `bench/reliability.py`."]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"\nwritten to {out}; data lost across all scenarios: {total_lost}")


if __name__ == "__main__":
    main()
