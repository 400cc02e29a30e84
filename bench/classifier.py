"""Distilled classifier benchmark: how often it agrees with the LLM labels it learned from,
the share of tweets it takes without an LLM call at >= 95 % precision, and its speed.

    .venv/bin/python bench/classifier.py [--model qwen2.5-coder-1.5b] [--label-tweets 400] [--workdir DIR]
                                         [--label-minutes M]

1. LLM labels: --label-tweets distinct real tweets of ../shared/data (half EN twcs, half FR
   Free; real data, not scaled) are ingested and analysed by the real pipeline with the
   built-in local model (llama.cpp, --model) as the only tier. The default model labels
   about 0.2 tweets/s on 2 cores: 400 tweets take about 35 minutes; `--model smollm2-135m`
   is much quicker, with noisier labels. With --workdir the labelled store is kept, and a
   second run only labels what is missing (a larger --label-tweets adds new tweets);
   --label-minutes stops labelling after that long and reports on what is labelled.
2. Training: the service behind `manage.py train_classifier` (80/20 split by ticket id).
3. Figures: per-field agreement with the LLM labels on the held-out split, the thresholds,
   the share of held-out tweets taken without an LLM call and how many of those are right
   on every field, and the same cross-checked (thresholds chosen on one half of the
   held-out split, measured on the other); throughput of `predict` over every tweet of
   the shared data (8.7 k) in batches of 1,000, on this machine's cores; the share of
   UNSEEN shared tweets outside the labelled store that the chain answers without an LLM
   call, and the calls and tokens that saved (the ledger's estimate).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNSEEN = 1000  # shared tweets outside the labelled store, sent through the chain for the ledger's saving
sys.path.insert(0, str(ROOT))

from bench.common import _sample_texts, distinct_by_language, distinct_texts, embedded_stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--label-tweets", type=int, default=400)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--label-minutes", type=float, default=None,
                        help="stop labelling after this long and report on what is labelled (a later run goes on)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    with embedded_stack(args.workdir, prefix="bench-classifier-") as stack:
        from dallosh import embedded

        server = embedded.start_local_model(name=args.model, port=embedded.free_port(),
                                            log=stack.workdir / "llm.log", threads=args.threads)
        try:
            label(args, server.url)
        finally:
            server.stop()
        report(args)


def label(args, url: str) -> None:
    from django.conf import settings

    from analysis import services
    from ingestion.services import ingest_records
    from tickets.models import Ticket

    settings.DALLOSH_ANALYSIS = {
        **settings.DALLOSH_ANALYSIS, "TIERS": ["local"], "CLASSIFIER": False, "LOCAL_AUTOSTART": False,
        "PROVIDERS": {**settings.DALLOSH_ANALYSIS["PROVIDERS"],
                      "local": {**settings.DALLOSH_ANALYSIS["PROVIDERS"]["local"], "enabled": True,
                                "model": args.model, "base_url": url}}}
    records = _new_records(distinct_texts(args.label_tweets))
    if records:
        ingest_records(records=records, source="twcs")
    waiting = [t.id for t in Ticket.objects(needs_analysis=True).only("id")]
    print(f"labelling {len(waiting)} tweets with {args.model} (LLM labels; "
          f"{Ticket.objects(needs_analysis=False).count()} already labelled)", flush=True)
    started = time.perf_counter()
    deadline = started + args.label_minutes * 60 if args.label_minutes is not None else float("inf")
    for start in range(0, len(waiting), 10):
        if time.perf_counter() > deadline:
            print(f"  labelling stopped after {args.label_minutes:g} min: {start} labelled this run, "
                  f"{len(waiting) - start} left for a later run", flush=True)
            break
        services.analyse_tickets(ticket_ids=waiting[start:start + 10])
        done = start + 10
        if done % 50 == 0:
            print(f"  {done:>5} labelled, {done / (time.perf_counter() - started):.2f} tweets/s", flush=True)


def _new_records(texts: list[tuple[str, str]]) -> list[dict]:
    """Records for the texts a kept store does not hold yet, numbered after the ones it does,
    so a larger --label-tweets adds tweets rather than re-ingesting the same texts as others."""
    from ingestion.models import Tweet

    stored = list(Tweet.objects.only("text", "tweet_id"))
    known = {tweet.text for tweet in stored}
    next_id = max((int(tweet.tweet_id) for tweet in stored), default=40_000_000 - 1) + 1
    fresh = [text for _, text in texts if text not in known]
    return [{"tweet_id": str(next_id + n), "author_id": f"bench{next_id + n}", "inbound": True, "text": text,
             "created_at": "Tue Oct 31 10:00:00 +0000 2017", "response_tweet_id": "",
             "in_response_to_tweet_id": None} for n, text in enumerate(fresh)]


def report(args) -> None:
    from django.conf import settings

    from analysis import classifier, services
    from tickets.models import Ticket

    settings.DALLOSH_ANALYSIS = {**settings.DALLOSH_ANALYSIS, "CLASSIFIER": True}
    labelled = Ticket.objects(needs_analysis=False, analysis__provider="local").count()
    outcome = services.train_classifier(force=True)
    evaluation = outcome.evaluation
    print()
    print(f"CLASSIFIER: learned from {outcome.trained_on:,} tweets labelled by {args.model} ({labelled:,} labelled); "
          f"held out {evaluation.held_out:,}")
    print("\n".join(classifier.report_lines(evaluation)))
    model = classifier.active()
    print(cross_checked_precision(model))
    everything = [text for _, text in _sample_texts()]
    started = time.perf_counter()
    for start in range(0, len(everything), 1000):
        model.predict(everything[start:start + 1000])
    seconds = time.perf_counter() - started
    print(f"throughput: {len(everything):,} tweets in {seconds:.2f} s = {len(everything) / seconds:,.0f} tweets/s "
          f"on {os.cpu_count()} cores (goal >= 1,000)")
    from analysis.chain import default_chain
    from analysis.prompts import Item
    unseen = unseen_texts()
    default_chain().analyse([Item(id=str(n), text=text) for n, text in enumerate(unseen)])
    from analysis.models import CostLedgerDay

    saved = CostLedgerDay.objects(provider=classifier.TIER).first()
    if saved and saved.items:
        print(f"of {len(unseen):,} shared tweets it never saw, through the chain, {saved.items} "
              f"({saved.items / len(unseen):.1%}) taken without an LLM call: "
              f"{saved.llm_calls_saved} calls and {saved.tokens_saved:,} prompt+answer tokens saved "
              f"({saved.tokens_saved / saved.items:.0f} per tweet, at the first LLM tier's batch size)")
    else:
        print(f"of {len(unseen):,} shared tweets it never saw, through the chain, none was taken without an LLM call")


def unseen_texts() -> list[str]:
    """Up to UNSEEN distinct shared tweets (half EN, half FR) outside the labelled store,
    cleaned as the pipeline cleans them for the model (what the chain is given)."""
    import pandas as pd

    from ingestion import cleaning
    from ingestion.models import Tweet

    learned = {tweet.text for tweet in Tweet.objects.only("text")}
    chosen = []
    for texts in distinct_by_language().values():
        chosen += [text for _, text in texts if text not in learned][:UNSEEN // 2]
    return list(cleaning.clean_for_model(pd.Series(chosen)))


def cross_checked_precision(model) -> str:
    """The thresholds are chosen on the held-out split, so the precision measured there is
    met by construction. This check chooses them on one half of it and measures the other
    half, both ways: an estimate of the precision on tweets the thresholds never saw."""
    import hashlib

    from analysis import classifier, selectors

    test = [e for e in selectors.training_examples() if classifier.held_out(e.id)]
    halves = ([], [])
    for example in test:
        halves[hashlib.sha256(example.id.encode()).digest()[-1] % 2].append(example)
    taken = right = 0
    for choose, measure in (halves, halves[::-1]):
        trial = classifier.Classifier(features=model.features, models=model.models, thresholds={})
        classifier.evaluate(trial, choose, set_thresholds=True)  # the active model's thresholds stay as they are
        measured = classifier.evaluate(trial, measure)
        taken_here = round(measured.accepted_share * measured.held_out)
        taken += taken_here
        right += round(measured.accepted_precision * taken_here)
    precision = f"{right / taken:.1%} right on every field" if taken else "no precision to measure"
    return (f"cross-checked (thresholds from one half of the held-out split, measured on the other, both ways): "
            f"{taken} of {len(test)} taken ({taken / len(test):.1%}), {precision}")


if __name__ == "__main__":
    main()
