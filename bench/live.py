"""Back-office benchmark: live-update latency to many agents, and queue page server time on
a store of millions of tickets.

    .venv/bin/python bench/live.py [--clients 50] [--events 200] [--tickets 2000000]

Everything runs on this machine against servers the benchmark starts: SecantusDB, Redis,
and Daphne (the project's ASGI server) in its own process.

1. Live: --clients agents of the tech team are connected by websocket to their queue
   (session-authenticated, one thread each, `websocket-client`). --events tickets are
   then analysed one after another (20 per second) through the real write path
   (`analysis.services.record_analysis`, the scripted answer "network/high" standing in
   for the model). Latency = arrival in a client − the moment the analysis write was
   acknowledged by MongoDB (the event's `sent_at`, stamped right after the write): every
   (event, client) pair, p50/p95/max. Goal: p95 < 250 ms.

2. Queue page: a store of --tickets tickets, SCALED DATA: the texts of the shared sample
   tweets (EN and FR) reused in turn, with SYNTHETIC labels drawn with fixed shares
   (topic network 50 %, …), ages spread over the last 60 days, 55 % of tickets open.
   Tickets in progress are held by agents of about 200 each ("assigned to me" reads the
   ones the measuring agent holds). Each ticket is written whole (analysed and routed)
   with bare `insert_many`, then the
   queue directory is rebuilt from them. The page's server time is the Django test
   client's wall time for one GET (middleware, selectors, template), for the first page,
   following pages, a page deep in the queue, each filter and searches. Goal: p95 < 150 ms.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
TEAM = "tech"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="requests per queue page scenario")
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-queue", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the store here; a store already holding --tickets tickets is reused")
    args = parser.parse_args()

    from dallosh import embedded

    (ROOT / "var").mkdir(exist_ok=True)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="bench-live-", dir=ROOT / "var"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    mongo_server = embedded.start_secantus(port=embedded.free_port(), storage=workdir / "mongo",
                                           log=workdir / "mongodb.log", cache_size="4G")
    try:
        redis_server = embedded.start_redis(port=embedded.free_port(), directory=workdir / "redis",
                                            log=workdir / "redis.log")
    except Exception:
        mongo_server.stop()
        raise
    os.environ.update({
        "MONGODB_URI": embedded.mongo_uri(mongo_server.port, "bench_live"), "REDIS_URL": redis_server.url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}", "DALLOSH_VAR": str(workdir),
        "DALLOSH_ANALYSIS_AUTO_ENQUEUE": "0", "DJANGO_SETTINGS_MODULE": "dallosh.settings", "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only", "DJANGO_SSL_REDIRECT": "0",
    })
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from dallosh import mongo

        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)  # production settings (DEBUG off)
        mongo.ensure_indexes()
        if not args.skip_live:
            live_latency(args, workdir)
        if not args.skip_queue:
            queue_page_times(args)
    finally:
        redis_server.stop()
        mongo_server.stop()


# --- 1. live latency ------------------------------------------------------------------------


def live_latency(args, workdir: Path) -> None:
    import websocket
    from django.test import Client

    from dallosh import embedded

    sessions = [_session(Client(), _agent(f"bench-live-{n:03d}")) for n in range(args.clients)]
    port = embedded.free_port()
    daphne = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                               "dallosh.asgi:application"], cwd=ROOT, env=os.environ.copy(),
                              stdout=(workdir / "daphne.log").open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        _wait_for_port(port)
        arrivals: list[list[tuple[str, float, float]]] = [[] for _ in sessions]
        sockets = [websocket.create_connection(f"ws://127.0.0.1:{port}/ws/queues/{TEAM}/", timeout=30,
                                               cookie=f"sessionid={key}", origin=f"http://127.0.0.1:{port}")
                   for key in sessions]
        readers = [threading.Thread(target=_read_events, args=(ws, arrivals[n]), daemon=True)
                   for n, ws in enumerate(sockets)]
        for reader in readers:
            reader.start()
        print(f"{len(sockets)} agents connected to the {TEAM} queue through Daphne; analysing {args.events} "
              "tickets at 20/s", flush=True)
        sent = _analyse_one_by_one(args.events)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(len(a) < len(sent) for a in arrivals):
            time.sleep(0.1)
        for ws in sockets:
            ws.close()
    finally:
        os.killpg(daphne.pid, signal.SIGTERM)
        daphne.wait(timeout=20)
    # From the write's acknowledgement (the event's sent_at, stamped right after it) to arrival.
    latencies = [(arrived - acknowledged) * 1000 for per_client in arrivals
                 for ticket_id, acknowledged, arrived in per_client if ticket_id in sent]
    with_write = [(arrived - sent[ticket_id]) * 1000 for per_client in arrivals
                  for ticket_id, _, arrived in per_client if ticket_id in sent]
    expected = len(sent) * len(sessions)
    print()
    print(f"LIVE: {args.clients} websocket clients, {len(sent)} analysed tickets, "
          f"{len(latencies):,} of {expected:,} deliveries arrived")
    print(f"analysis commit → client  p50 {_pct(latencies, 50):7.1f} ms   p95 {_pct(latencies, 95):7.1f} ms   "
          f"max {max(latencies):7.1f} ms   (goal p95 < 250 ms)")
    print(f"write start → client      p50 {_pct(with_write, 50):7.1f} ms   p95 {_pct(with_write, 95):7.1f} ms   "
          f"max {max(with_write):7.1f} ms   (including the analysis write itself)")


def _agent(username: str):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from dallosh.permissions import AGENT_GROUP, team_group

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in (AGENT_GROUP, team_group(TEAM))])
    return user


def _session(client, user) -> str:
    client.force_login(user)
    return client.cookies["sessionid"].value


def _read_events(ws, arrivals: list) -> None:
    import websocket

    while True:
        try:
            message = ws.recv()
        except (websocket.WebSocketException, OSError):
            return
        if not message:  # closed
            return
        event = json.loads(message)
        arrivals.append((event["id"], event["sent_at"], time.time()))


def _analyse_one_by_one(count: int) -> dict[str, float]:
    """Ingest `count` tweets, then write an analysis for each; returns ticket id → when the write began."""
    from analysis import services
    from analysis.chain import Outcome
    from analysis.schema import Analysis
    from ingestion.services import ingest_records

    run = int(time.time())  # fresh tickets on every run, even in a reused store
    records = [{"tweet_id": f"{run}{n:06d}", "author_id": f"live{run}-{n}", "inbound": True,
                "text": f"internet down again, day {n}", "created_at": "Tue Oct 31 10:00:00 +0000 2017",
                "response_tweet_id": "", "in_response_to_tweet_id": None} for n in range(count)]
    ingest_records(records=records, source="benchlive")
    answer = Analysis(sentiment="negative", topic="network", urgency="high", team="tech", actionable=True,
                      summary="internet down")
    outcome = Outcome(analysis=answer, provider="bench", model="scripted", tokens_in=0, tokens_out=0,
                      latency_ms=0, attempts=1, batch_size=1, fallbacks=[])
    sent: dict[str, float] = {}
    for record in records:
        ticket_id = f"benchlive:{record['tweet_id']}"
        claim, held = services.claim_tickets(ticket_ids=[ticket_id])
        before = time.time()  # kept to report the write itself; latency starts at its acknowledgement
        services.record_analysis(ticket=held[0], claim=claim, outcome=outcome, text=record["text"], rules=[])
        sent[ticket_id] = before
        time.sleep(0.05)
    return sent


# --- 2. queue page server time --------------------------------------------------------------

TOPICS = [("network", 50), ("billing", 15), ("commercial", 12), ("technical", 10), ("customer_service", 8),
          ("other", 5)]
SENTIMENTS = [("negative", 60), ("neutral", 30), ("positive", 10)]
URGENCIES = [("high", 20), ("medium", 45), ("low", 35)]
STATUSES = [("new", 40), ("in_progress", 10), ("waiting_customer", 5), ("resolved", 45)]


def queue_page_times(args) -> None:
    from django.test import Client

    from tickets import services
    from tickets.models import Ticket

    stored = Ticket._get_collection().estimated_document_count()
    if stored < args.tickets:
        _build_store(args.tickets - stored, start=stored)
        started = time.perf_counter()
        days = services.rebuild_queue_directory()
        print(f"queue directory rebuilt from the tickets: {days:,} segment-days in "
              f"{time.perf_counter() - started:,.1f} s", flush=True)
    agent = _agent("bench-agent-0000")
    client = Client()
    client.force_login(agent)
    scenarios = _scenarios(client)
    print()
    print(f"QUEUE PAGE: {Ticket._get_collection().estimated_document_count():,} tickets (SCALED DATA, synthetic "
          f"labels), the {TEAM} queue, {args.repeat} requests per scenario, server time")
    everything = []
    for name, url in scenarios:
        times, rows = [], 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            rows = response.content.count(b"<tr data-id=")
        everything += times
        print(f"  {name:<34} p50 {_pct(times, 50):7.1f} ms  p95 {_pct(times, 95):7.1f} ms  max {max(times):7.1f} ms"
              f"  ({rows} rows)", flush=True)
    print(f"all queue page requests            p50 {_pct(everything, 50):7.1f} ms  p95 {_pct(everything, 95):7.1f} ms"
          "   (goal p95 < 150 ms)")


def _scenarios(client) -> list[tuple[str, str]]:
    from tickets.selectors import Position

    base = f"/queues/{TEAM}/"
    scenarios = [("first page", base)]
    url = base
    for page in range(2, 6):  # follow the "next page" links
        html = client.get(url).content.decode()
        cursor = html.split("after=")[1].split('"')[0] if "after=" in html else ""
        url = f"{base}?after={cursor}"
        scenarios.append((f"page {page}", url))
    middle = Position(2, datetime.now(UTC) - timedelta(days=30), "").encode()
    scenarios += [
        ("deep page (medium, 30 days old)", f"{base}?after={middle}"),
        ("status in progress", f"{base}?status=in_progress"),
        ("status resolved", f"{base}?status=resolved"),
        ("topic technical", f"{base}?topic=technical"),
        ("sentiment positive", f"{base}?sentiment=positive"),
        ("language fr", f"{base}?language=fr"),
        ("unassigned", f"{base}?holder=unassigned"),
        ("assigned to me", f"{base}?holder=me"),
        ("search a common word", f"{base}?q=internet"),
        ("search a rare word (budget)", f"{base}?q=zzzxq"),
    ]
    return scenarios


def _build_store(count: int, *, start: int) -> None:
    from tickets import sla
    from tickets.models import Ticket

    texts = _sample_texts()
    rng = random.Random(20261125)
    now = datetime.now(UTC)
    holders = [f"bench-agent-{n:04d}" for n in range(max(count // 10_000, 1) * 5)]  # ~200 tickets each
    collection = Ticket._get_collection()
    print(f"building {count:,} tickets (SCALED DATA: {len(texts):,} shared tweet texts reused, synthetic labels)",
          flush=True)
    started = time.perf_counter()
    batch = []
    for n in range(start, start + count):
        language, text = texts[n % len(texts)]
        topic, sentiment, urgency, status = (_draw(rng, TOPICS), _draw(rng, SENTIMENTS), _draw(rng, URGENCIES),
                                             _draw(rng, STATUSES))
        team = {"network": "tech", "technical": "tech", "billing": "billing"}.get(topic, "commercial")
        created = now - timedelta(seconds=rng.uniform(0, 60 * 86400))
        ticket = {"_id": f"bench:{n}", "created_at": created, "ingested_at": created}
        due = sla.due_at(ticket, urgency)
        responded = status in ("waiting_customer", "resolved")
        breached = due < now and not responded
        state = "breached" if breached else ("met" if responded else "running")
        batch.append({
            **ticket, "source": "bench", "customer": f"customer{n % 500_000}", "language": language,
            "subject": text, "last_activity_at": created, "last_customer_tweet_at": created,
            "tweet_ids": [ticket["_id"]], "customer_tweet_count": 1, "brand_reply_count": 0, "status": status,
            "needs_analysis": False,
            "analysis": {"sentiment": sentiment, "topic": topic, "urgency": urgency, "team": team,
                         "actionable": True, "summary": text[:140], "input_text": text, "provider": "bench",
                         "model": "synthetic", "analysed_at": created},
            "team": team, "urgency": urgency, "topic": topic, "sentiment": sentiment, "routing_rule": None,
            "routed_at": created, "assignee": rng.choice(holders) if status == "in_progress" else None,
            "queue_priority": sla.priority(urgency, overdue=breached), "sla_due_at": due, "sla_state": state,
            "responded_at": created + timedelta(hours=1) if responded else None, "version": 1, "updated_at": created,
            "audit": [{"at": created, "by": "system:analysis", "action": "analysed", "details": {}}],
        })
        if len(batch) == 10_000:
            collection.insert_many(batch, ordered=False)
            batch = []
            done = n + 1 - start
            if done % 200_000 == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  {done:>10,} tickets  {rate:8,.0f}/s", flush=True)
    if batch:
        collection.insert_many(batch, ordered=False)


def _sample_texts() -> list[tuple[str, str]]:
    texts = []
    for name, column, language in (("twcs_sample.csv", "text", "en"), ("free_tweets_fr.csv", "text", "fr")):
        path = SHARED / name
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as stream:
            texts += [(language, row[column]) for row in csv.DictReader(stream) if row.get(column)]
    if not texts:
        sys.exit(f"{SHARED} has no sample CSV: the benchmark needs ../shared/data beside the project")
    return texts


def _draw(rng: random.Random, shares: list[tuple[str, int]]) -> str:
    return rng.choices([value for value, _ in shares], weights=[weight for _, weight in shares])[0]


def _pct(values: list[float], percentile: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]


def _wait_for_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    sys.exit("Daphne did not start")


if __name__ == "__main__":
    main()
