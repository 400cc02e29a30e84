"""The teacher: the project's own LLM chain labels real shared tweets for the fast tier's heads.

    .venv/bin/python -m bench.teacher --minutes 90            # goes on where it stopped
    .venv/bin/python -m bench.teacher --model smollm2-135m --limit 20

Every distinct customer tweet of ../shared/data (analysis/training_data.customer_tweets)
goes through the labelling pass the chain uses (analysis/prompts.py's messages, the labels-only
JSON schema, temperature 0) on the built-in llama.cpp server. Each answer is appended to
`analysis/heads/teacher_labels.jsonl` with each label's probability: tweet ids and labels
only, never the tweets' texts, so the file can ship with the project and the heads can be
rebuilt from it without an LLM (`python -m bench.heads`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

os.environ.setdefault("DJANGO_DEBUG", "1")  # benchmarks run on the embedded default
django.setup()

from analysis import certainty, prompts, schema  # noqa: E402
from analysis.local_model import ensure_running  # noqa: E402
from analysis.providers import OpenAIProvider, ProviderFailure  # noqa: E402
from analysis.training_data import TEACHER_LABELS, customer_tweets  # noqa: E402
from dallosh import vocabulary  # noqa: E402
from dallosh.conf import TierSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def label(provider: OpenAIProvider, text: str) -> dict | None:
    item = prompts.Item(id="t", text=text)
    try:
        completion = provider.complete(messages=prompts.single_messages(item), schema=schema.json_schema(),
                                       max_tokens=prompts.answer_tokens(1), logprobs=True)
        analysis = vocabulary.validate(json.loads(completion.content, strict=False))
    except (ProviderFailure, ValueError, vocabulary.InvalidAnalysis):
        return None
    labels = analysis.labels()
    return {"labels": labels, "confidence": certainty.confidences(completion, labels),
            "latency_ms": round(completion.latency_s * 1000), "model": completion.model}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--limit", type=int, default=0, help="label at most this many tweets (0: all)")
    parser.add_argument("--out", type=Path, default=TEACHER_LABELS)
    args = parser.parse_args()
    done = set()
    if args.out.exists():
        done = {(r["source"], r["tweet_id"]) for r in map(json.loads, args.out.read_text().splitlines()) if r}
    todo = [t for t in customer_tweets() if (t["source"], t["tweet_id"]) not in done]
    if args.limit:
        todo = todo[:args.limit]
    ensure_running(name=args.model, port=args.port, run_dir=ROOT / "var" / "run", timeout=600)
    provider = OpenAIProvider(TierSettings(name="local", kind="openai", model=args.model,
                                         base_url=f"http://127.0.0.1:{args.port}/v1", timeout_s=120))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    deadline, started, written = time.monotonic() + args.minutes * 60, time.monotonic(), 0
    with args.out.open("a", encoding="utf-8") as out:
        for tweet in todo:
            if time.monotonic() > deadline:
                break
            answer = label(provider, tweet["text"])
            if answer is None:
                continue
            out.write(json.dumps({"source": tweet["source"], "tweet_id": tweet["tweet_id"],
                                  "language": tweet["language"], **answer}) + "\n")
            out.flush()
            written += 1
            if written % 50 == 0:
                print(f"{written} labelled, {written / (time.monotonic() - started):.2f} tweets/s", flush=True)
    print(f"{written} labelled this run ({len(done) + written} in {args.out}); "
          f"{len(todo) - written} left", flush=True)


if __name__ == "__main__":
    main()
