"""Analysis benchmark: what batching saves in prompt tokens, and each tier's speed and
share of valid answers, against a real llama.cpp server on loopback.

    .venv/bin/python bench/analysis.py [--model qwen2.5-coder-1.5b] [--tweets 200] [--tier-tweets 40]

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
import os
import sys
import tempfile
import time
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

    settings.DALLOSH_ANALYSIS = {**settings.DALLOSH_ANALYSIS, "TIERS": [tier], "LOCAL_AUTOSTART": False,
                                 "PROVIDERS": {tier: {"kind": "ollama" if tier == "ollama" else "openai",
                                                      "model": model, "base_url": url, "api_key": "bench",
                                                      "timeout_s": 900, "batch_size": batch_size,
                                                      "batch_token_budget": 16000}}}
    CostLedgerDay.objects(provider=tier).delete()
    items = [Item(id=f"t{n}", text=t) for n, t in enumerate(texts)]
    started = time.monotonic()
    result = default_chain().analyse(items)
    seconds = time.monotonic() - started
    calls = sum(line.calls for line in CostLedgerDay.objects(provider=tier))
    return len(items) / seconds, len(result.analysed) / len(items), calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--tweets", type=int, default=200)
    parser.add_argument("--tier-tweets", type=int, default=40)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dallosh.settings")
    import django

    django.setup()
    from django.conf import settings

    from dallosh import embedded, mongo
    from tests.llm_servers import OllamaShim

    texts = sample_tweets(args.tweets)
    project_batch = settings.DALLOSH_ANALYSIS["PROVIDERS"]["openai"]["batch_size"]
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
