"""What the back-office benchmarks share: the embedded stack they run on, a scaled store of
analysed tickets, percentiles."""

from __future__ import annotations

import csv
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@dataclass
class Stack:
    """The running embedded servers of a benchmark, and how to restart them in place."""

    workdir: Path
    mongo: object
    redis: object

    def restart_mongo(self, *, hard: bool = False, down_s: float = 2.0) -> None:
        """Stop SecantusDB (SIGTERM, or SIGKILL with `hard`), wait, start it again on the same
        port and storage."""
        from config import embedded

        _stop(self.mongo, hard=hard)
        time.sleep(down_s)
        self.mongo = embedded.start_secantus(port=self.mongo.port, storage=self.workdir / "mongo",
                                             log=self.workdir / "mongodb.log", cache_size="4G")

    def restart_redis(self, *, hard: bool = False, down_s: float = 2.0) -> None:
        from config import embedded

        _stop(self.redis, hard=hard)
        time.sleep(down_s)
        self.redis = embedded.start_redis(port=self.redis.port, directory=self.workdir / "redis",
                                          log=self.workdir / "redis.log")


@contextmanager
def worker_clusters(stack: Stack, **env: str) -> Iterator[None]:
    """The housekeeping and fast-tier clusters as real `manage.py qcluster` processes, as
    production runs them (labelling enqueued after each ingest job), stopped on exit."""
    import subprocess

    from analysis import work
    from config.embedded import stop_group

    env = {**os.environ, "DALLOSH_ANALYSIS_AUTO_ENQUEUE": "1", "DALLOSH_LOCAL_MODEL_AUTOSTART": "0", **env}
    workers = [subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, start_new_session=True,
                                env={**env, **extra}, stdout=(stack.workdir / f"qcluster{name}.log").open("w"),
                                stderr=subprocess.STDOUT)
               for name, extra in (("", {}), ("-label", {"Q_CLUSTER_NAME": work.LABEL_CLUSTER}))]
    try:
        yield
    finally:
        for worker in workers:
            stop_group(worker, timeout=30)


def wait_until_routed(*, started: float, timeout: float) -> float:
    """Seconds from `started` until no ticket awaits the fast tier (the sweeper's nudge
    repeated meanwhile, as the housekeeping cluster does every minute)."""
    from analysis import work
    from tickets.models import Ticket

    tickets = Ticket._get_collection()
    while tickets.count_documents({"needs_analysis": True}, limit=1):
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"not every ticket was routed within {timeout} s")
        work.enqueue_pending()
        time.sleep(0.5)
    return time.perf_counter() - started


def _stop(server, *, hard: bool) -> None:
    if hard:
        server.process.kill()
        server.process.wait()
    else:
        server.stop()


@contextmanager
def embedded_stack(workdir: Path | None, *, prefix: str) -> Iterator[Stack]:
    """SecantusDB and Redis on free ports, Django set up on them with production settings
    (DEBUG off), migrated; everything stopped on exit. Yields the Stack."""
    from config import embedded

    (ROOT / "var").mkdir(exist_ok=True)
    workdir = (workdir or Path(tempfile.mkdtemp(prefix=prefix, dir=ROOT / "var"))).resolve()
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
    stack = Stack(workdir, mongo_server, redis_server)
    os.environ.update({
        "MONGODB_URI": embedded.mongo_uri(mongo_server.port, "bench"), "REDIS_URL": redis_server.url,
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}", "DALLOSH_VAR": str(workdir),
        "DALLOSH_ANALYSIS_AUTO_ENQUEUE": "0", "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "0",
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
        yield stack
    finally:
        stack.redis.stop()
        stack.mongo.stop()


TOPICS = [("network", 50), ("billing", 15), ("commercial", 12), ("technical", 10), ("customer_service", 8),
          ("other", 5)]
SENTIMENTS = [("negative", 60), ("neutral", 30), ("positive", 10)]
URGENCIES = [("high", 20), ("medium", 45), ("low", 35)]
STATUSES = [("new", 40), ("in_progress", 10), ("waiting_customer", 5), ("resolved", 45)]


def build_store(count: int, *, start: int) -> None:
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


def distinct_texts(count: int) -> list[tuple[str, str]]:
    """`count` tweets of the shared data whose cleaned texts differ (so none is a duplicate),
    half English, half French."""
    by_language = distinct_by_language()
    half = count // 2
    chosen = by_language["en"][:count - half] + by_language["fr"][:half]
    if len(chosen) < count:
        sys.exit(f"only {len(chosen)} distinct tweets in ../shared/data")
    return chosen


def distinct_by_language() -> dict[str, list[tuple[str, str]]]:
    """Every tweet of the shared data that is not a retweet, a near-duplicate of an earlier
    one or too short to say anything, by language, in file order."""
    import pandas as pd

    from ingestion import cleaning

    texts = _sample_texts()
    keys = cleaning.near_duplicate_key(cleaning.clean_for_model(pd.Series([text for _, text in texts])))
    by_language: dict[str, list[tuple[str, str]]] = {"en": [], "fr": []}
    seen = set()
    for (language, text), key in zip(texts, keys, strict=True):
        if len(key) >= 12 and key not in seen and not text.lower().startswith("rt "):
            seen.add(key)
            by_language[language].append((language, text))
    return by_language


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


def pct(values: list[float], percentile: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1]
