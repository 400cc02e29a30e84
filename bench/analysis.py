"""Analysis benchmark: tickets routed end to end on the embedded default; what batching
saves in prompt tokens, and each tier's speed and share of valid answers, against a real
llama.cpp server on loopback.

    .venv/bin/python bench/analysis.py --end-to-end [--rows N] [--refine-sample 20]
    .venv/bin/python bench/analysis.py [--model qwen2.5-coder-1.5b] [--tweets 200] [--tier-tweets 40]

End to end (--end-to-end): a fresh SecantusDB and Redis, the housekeeping and fast-tier
worker clusters as real `manage.py qcluster` processes, then every shared tweet ingested
(twcs_sample.csv and free_tweets_fr.csv: 8,764 real rows; with --rows N, twcs_sample.csv
scaled to N rows with shifted ids, SCALED DATA) while the workers label and route. Prints
the time until every ticket is in a queue and tickets routed per second from the start of
the ingest (goal >= 300 on 2 cores), the peak RSS of all Dallosh processes together (goal
< 2 GB), the share left for LLM refinement, and, on --refine-sample unsure tickets, the
local model's refinement rate with the labels-only pass against the full pass with a
summary, and how long the whole refinement share would take at that rate.

Tweets: the first customer tweets of ../shared/data/twcs_sample.csv (English) and
free_tweets_fr.csv (French), half each, cleaned as the pipeline cleans them (real data,
not scaled).

1. Prompt tokens: the project's real prompts for --tweets tweets, sent through the OpenAI
   client at batch size 1 and at the batch size the project configures for the OpenAI
   tier; `usage.prompt_tokens` as the server counts them. Generation is capped at one
   token here: the prompt is what batching changes, and it is counted in full.
2. Tiers: --tier-tweets tweets through the real provider chain, one tier at a time, each
   pointed at the same llama.cpp server: "openai" (OpenAI client, batched as configured),
   "ollama" (official ollama client through the Ollama-API shim of the test suite, one
   tweet per call) and "local" (one tweet per call). Tweets/s, and the share of tweets
   answered valid on that tier (not re-queued, not failed).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def sample_tweets(count: int) -> list[str]:
    import pandas as pd

    from ingestion.cleaning import clean_for_model

    english = pd.read_csv(DATA / "twcs_sample.csv", dtype=str, keep_default_na=False)
    english = english[english["inbound"] == "True"]["text"]
    french = pd.read_csv(DATA / "free_tweets_fr.csv", dtype=str, keep_default_na=False)
    french = french[~french["author"].isin(["Freebox", "free"]) & ~french["text"].str.startswith("rt :")]["text"]
    texts: list[str] = []
    for series, stray in ((english, False), (french, True)):
        cleaned = clean_for_model(series, stray_newline_n=stray)
        texts += [t for t in cleaned if len(t) >= 15][: count - count // 2 if stray else count // 2]
    return texts


def prompt_tokens(*, url: str, model: str, texts: list[str], batch_size: int) -> int:
    from openai import OpenAI

    from analysis import prompts, schema

    client = OpenAI(base_url=url, api_key="bench", timeout=600, max_retries=0)
    items = [prompts.Item(id=f"t{n}", text=t) for n, t in enumerate(texts)]
    total = 0
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        single = len(batch) == 1
        response = client.chat.completions.create(
            model=model, max_tokens=1, temperature=0,
            messages=prompts.single_messages(batch[0]) if single else prompts.batch_messages(batch),
            response_format={"type": "json_schema", "json_schema": {
                "name": "analysis", "strict": True,
                "schema": schema.json_schema() if single else schema.batch_json_schema()}})
        total += response.usage.prompt_tokens
    return total


def tier_run(*, tier: str, url: str, model: str, batch_size: int, texts: list[str]) -> tuple[float, float, int]:
    """(tweets/s, valid share, calls) of one tier alone on these texts."""
    from django.conf import settings

    from analysis.chain import default_chain
    from analysis.models import CostLedgerDay
    from analysis.prompts import Item
    from dallosh.conf import TierSettings

    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(
        tiers=(tier,), local_autostart=False, fast_tier=False,
        providers={tier: TierSettings(name=tier, kind="ollama" if tier == "ollama" else "openai", model=model,
                                      base_url=url, api_key="bench", timeout_s=900, batch_size=batch_size,
                                      batch_token_budget=16000)})
    CostLedgerDay.objects(provider=tier).delete()
    items = [Item(id=f"t{n}", text=t) for n, t in enumerate(texts)]
    started = time.monotonic()
    result = default_chain().analyse(items)
    seconds = time.monotonic() - started
    calls = sum(line.calls for line in CostLedgerDay.objects(provider=tier))
    return len(items) / seconds, len(result.analysed) / len(items), calls


def end_to_end(args) -> None:
    """Ingest with real fast-tier workers running; time until every ticket is routed."""
    import threading

    import psutil

    from bench.common import embedded_stack, wait_until_routed, worker_clusters
    from bench.ingest import build_scaled_csv

    with embedded_stack(args.workdir, prefix="bench-e2e-") as stack:
        from django.conf import settings

        from ingestion.services import ingest_file
        from tickets.models import Ticket

        settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(auto_enqueue=True)
        if args.rows:
            files = [stack.workdir / f"twcs_scaled_{args.rows}.csv"]
            if not files[0].exists():
                build_scaled_csv(files[0], args.rows)
            print(f"SCALED DATA: twcs_sample.csv repeated to {args.rows:,} rows with shifted ids", flush=True)
        else:
            files = [DATA / "twcs_sample.csv", DATA / "free_tweets_fr.csv"]
        peak = {"rss": 0.0}
        done = threading.Event()

        def sample_memory() -> None:
            """This process and every worker process, together, by proportional set size: the
            workers are forked, and RSS would count the pages they share once per process."""
            me = psutil.Process()
            while not done.wait(0.5):
                total = 0
                for process in [me, *me.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += process.memory_full_info().pss
                peak["rss"] = max(peak["rss"], total / 1e6)

        threading.Thread(target=sample_memory, daemon=True).start()
        try:
            with worker_clusters(stack):
                started = time.perf_counter()
                rows = 0
                for path in files:
                    rows += ingest_file(path=path).counters.rows_read
                ingested_s = time.perf_counter() - started
                routed_s = wait_until_routed(started=started, timeout=args.timeout)
        finally:
            done.set()
        tickets = Ticket._get_collection()
        total = tickets.estimated_document_count()
        unsure = tickets.count_documents({"needs_refinement": True})
        fast = tickets.count_documents({"analysis.provider": "fast"})
        print(f"rows ingested                {rows:>10,}   in {ingested_s:,.1f} s")
        print(f"tickets                      {total:>10,}   every one routed {routed_s:,.1f} s after the ingest "
              f"started ({fast:,} by the fast tier)")
        print(f"tickets routed per second    {total / routed_s:>10,.0f}   from the start of the ingest to the last "
              "ticket routed, worker start-up included (goal >= 300 on 2 cores)")
        first, last = _analysis_span(tickets)
        print(f"fast tier, steady state      {fast / max((last - first).total_seconds(), 1e-9):>10,.0f}   tickets "
              f"labelled and routed per second, first to last write ({first:%H:%M:%S}-{last:%H:%M:%S})")
        print(f"peak memory, all processes   {peak['rss']:>10,.0f} MB PSS (goal < 2,000 MB; SecantusDB and Redis "
              "not counted)")
        print(f"left for LLM refinement      {unsure:>10,}   {unsure / max(total, 1):.1%} of the tickets", flush=True)
        if args.refine_sample and unsure:
            refine_sample(args, unsure)


def _analysis_span(tickets) -> tuple[datetime, datetime]:
    """When the first and the last fast-tier answer were written (on the analysis-time index)."""
    first = tickets.find({"analysis.analysed_at": {"$gte": datetime(2000, 1, 1)}}, {"analysis.analysed_at": 1})
    times = sorted(t["analysis"]["analysed_at"] for t in first)
    return times[0], times[-1]


def refine_sample(args, unsure: int) -> None:
    """The local model refining --refine-sample unsure tickets: labels only (as the workers
    do), then the same tweets asking for labels and a summary (the former full pass)."""
    from django.conf import settings

    from analysis import prompts, refine_queue, schema, services
    from analysis.providers import OpenAIProvider
    from config import embedded
    from dallosh.conf import TierSettings

    server = embedded.start_local_model(name=args.model, port=embedded.free_port(),
                                        log=Path(tempfile.mkdtemp()) / "llm.log", threads=args.threads)
    try:
        settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(
            tiers=("local",), local_autostart=False,
            providers={"local": TierSettings(name="local", kind="openai", model=args.model, base_url=server.url,
                                             timeout_s=300, batch_size=1)})
        due = refine_queue.due(limit=args.refine_sample, now=datetime.now(UTC))
        ids = [t["_id"] for t in due]
        started = time.perf_counter()
        run = services.analyse_tickets(ticket_ids=ids)
        labels_s = time.perf_counter() - started
        from tickets.models import Ticket

        texts = [t.analysis.input_text for t in Ticket.objects(id__in=ids).only("analysis.input_text")]
        full_schema = schema.json_schema()
        full_schema = {**full_schema, "properties": {**full_schema["properties"], "summary": {"type": "string"}},
                       "required": [*full_schema["required"], "summary"]}
        provider = OpenAIProvider(TierSettings(name="local", kind="openai", model=args.model, base_url=server.url,
                                             timeout_s=300))
        started = time.perf_counter()
        for text in texts:
            messages = prompts.single_messages(prompts.Item(id="t", text=text))
            messages[-1]["content"] += " Add a summary: one short factual line in the tweet's language."
            provider.complete(messages=messages, schema=full_schema, max_tokens=prompts.answer_tokens(1) + 60)
        full_s = time.perf_counter() - started
        rate = len(run.analysed) / labels_s
        print(f"refinement on {args.model}: {len(run.analysed)} of {len(ids)} unsure tickets refined, "
              f"{rate:.2f} tickets/s labels only, {len(texts) / full_s:.2f} tweets/s with a summary "
              f"({full_s / max(labels_s, 1e-9):.2f}x the time)")
        print(f"the whole refinement share ({unsure:,} tickets) at that rate: {unsure / rate / 3600:,.1f} h")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--end-to-end", action="store_true", help="tickets routed per second on real workers")
    parser.add_argument("--rows", type=int, default=0, help="with --end-to-end: scale twcs_sample.csv to N rows")
    parser.add_argument("--refine-sample", type=int, default=20, help="with --end-to-end: unsure tickets refined "
                                                                       "by the local model (0: none)")
    parser.add_argument("--timeout", type=float, default=4 * 3600)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--tweets", type=int, default=200)
    parser.add_argument("--tier-tweets", type=int, default=40)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if args.end_to_end:
        end_to_end(args)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # benchmarks run on the embedded default
    import django

    django.setup()
    from django.conf import settings

    from bench.llm_servers import OllamaShim
    from config import embedded
    from dallosh import mongo

    texts = sample_tweets(args.tweets)
    project_batch = settings.DALLOSH_ANALYSIS.providers["openai"].batch_size
    with tempfile.TemporaryDirectory(prefix="dallosh-bench-analysis-") as tmp:
        work = Path(tmp)
        db = embedded.start_secantus(port=embedded.free_port(), storage=work / "mongo", log=work / "mongo.log")
        server = embedded.start_local_model(name=args.model, port=embedded.free_port(), log=work / "llm.log",
                                            threads=args.threads)
        try:
            mongo.connect(embedded.mongo_uri(db.port, "bench_analysis"))
            url = server.url
            print(f"model {args.model}, {len(texts)} tweets ({len(texts) // 2} EN twcs + {len(texts) - len(texts) // 2}"
                  f" FR Free, real, cleaned), llama.cpp on {args.threads} threads", flush=True)
            single = prompt_tokens(url=url, model=args.model, texts=texts, batch_size=1)
            batched = prompt_tokens(url=url, model=args.model, texts=texts, batch_size=project_batch)
            print(f"prompt tokens per tweet at batch size 1:  {single / len(texts):8.1f}")
            print(f"prompt tokens per tweet at batch size {project_batch}: {batched / len(texts):8.1f}")
            print(f"ratio batched / single: {batched / single:.3f}   (goal <= 0.4)", flush=True)
            shim = OllamaShim(upstream=url)
            subset = texts[: args.tier_tweets // 2] + texts[len(texts) // 2: len(texts) // 2 + args.tier_tweets // 2]
            print(f"tier runs on {len(subset)} tweets (half EN, half FR):")
            for tier, tier_url, size in (("openai", url, project_batch), ("ollama", shim.url, 1), ("local", url, 1)):
                rate, valid, calls = tier_run(tier=tier, url=tier_url, model=args.model, batch_size=size,
                                              texts=subset)
                print(f"  {tier:<7} batch {size:>2}: {rate:6.3f} tweets/s, valid {valid:6.1%}, {calls} calls",
                      flush=True)
            shim.close()
        finally:
            server.stop()
            db.stop()


if __name__ == "__main__":
    main()
