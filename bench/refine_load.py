"""Does refinement slow routing or the API? The same measurements, in one run, with the
refine cluster off and then on while the local model refines.

    .venv/bin/python -m bench.refine_load [--model qwen2.5-coder-1.5b] [--tickets 50000]
        [--backlog 1500] [--label 2000] [--clients 20] [--seconds 20] [--nice N] [--threads N]

Everything runs on this machine against servers the benchmark starts: a fresh SecantusDB
and Redis (bench/common.py), Daphne serving the project (production settings, the API's
per-user rate raised so that nothing is throttled), the `label` worker cluster as a real
`manage.py qcluster`, and the local model's llama.cpp server started by the project's
launcher (`config.embedded.start_local_model`), so at the nice level and on the threads
the settings give it (DALLOSH_REFINE_NICE, DALLOSH_LOCAL_MODEL_THREADS; `--nice` and
`--threads` set them for the run, e.g. `--nice 0 --threads 2` for the old behaviour).

Data: a store of --tickets analysed tickets for the queue API to read (SCALED DATA: the
shared tweets' texts reused, synthetic labels), then --backlog real shared tweets (EN and
FR, distinct) ingested and labelled by the fast tier: its unsure ones are the backlog the
refine cluster works through.

Then twice, refine cluster off, then on (`Q_CLUSTER_NAME=refine manage.py qcluster`, the
local tier alone, on that server; measured once it has refined its first ticket):
1. labelling: --label further real tweets (distinct from all before) ingested through the
   stream door in chunks of 500 while the label cluster labels and routes them: seconds
   from the start of the ingest until every ticket is routed, tickets routed per second.
2. the queue API under load: --clients threads, each on its own keep-alive connection
   (http.client), GET /api/v1/queues/tech/tickets with an agent's token for --seconds:
   requests/s, p50/p95/max latency, answers other than 200.
For each phase it also prints the CPU the model server and the refine workers took (% of
one core) and the LLM work done meanwhile (tickets refined, summaries written), so that
"on" is seen to be refining; a backlog that ran out is said.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import build_store, distinct_by_language, embedded_stack, pct  # noqa: E402

TEAM = "tech"
API_PATH = f"/api/v1/queues/{TEAM}/tickets"
CHUNK = 500


@dataclass
class Phase:
    name: str
    label_s: float = 0.0
    labelled: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds
    errors: int = 0
    api_s: float = 0.0
    llm_cpu_s: float = 0.0
    wall_s: float = 0.0
    refined: int = 0
    summarised: int = 0
    backlog_left: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--tickets", type=int, default=50_000, help="analysed tickets in the store the API reads")
    parser.add_argument("--backlog", type=int, default=1500, help="tweets labelled first: their unsure ones refine")
    parser.add_argument("--label", type=int, default=2000, help="tweets labelled in each phase")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--nice", type=int, default=None, help="DALLOSH_REFINE_NICE for the run")
    parser.add_argument("--threads", type=int, default=None, help="DALLOSH_LOCAL_MODEL_THREADS for the run")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed for each wait")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if args.nice is not None:  # before Django reads the settings, for this process and its children
        os.environ["DALLOSH_REFINE_NICE"] = str(args.nice)
    if args.threads is not None:
        os.environ["DALLOSH_LOCAL_MODEL_THREADS"] = str(args.threads)

    with embedded_stack(args.workdir, prefix="bench-refine-load-") as stack:
        run(args, stack.workdir)


def run(args, workdir: Path) -> None:
    from django.conf import settings

    from analysis import work
    from config import embedded
    from config.embedded import stop_group
    from dallosh.processes import thread_nice_levels
    from tickets import directory
    from tickets.models import Ticket

    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(auto_enqueue=True)
    texts = _texts(args.backlog + 2 * args.label)
    build_store(args.tickets, start=0)
    directory.rebuild_queue_directory()
    token = _agent_token()
    model = embedded.start_local_model(name=args.model, port=embedded.free_port(), log=workdir / "local-model.log")
    env = {**os.environ, "DALLOSH_ANALYSIS_AUTO_ENQUEUE": "1", "DALLOSH_ANALYSIS_TIERS": "local",
           "DALLOSH_LOCAL_MODEL": args.model, "DALLOSH_LOCAL_MODEL_URL": model.url,
           "DALLOSH_LOCAL_MODEL_AUTOSTART": "0", "DALLOSH_API_USER_RATE": "1000000/min"}
    processes: list[subprocess.Popen] = []
    try:
        port = embedded.free_port()
        processes.append(_start([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                 "config.asgi:application"], env, workdir / "daphne.log"))
        processes.append(_start([sys.executable, "manage.py", "qcluster"],
                                {**env, "Q_CLUSTER_NAME": work.LABEL_CLUSTER}, workdir / "qcluster-label.log"))
        embedded.wait_for_port(port, process=processes[0], name="daphne", log=workdir / "daphne.log")
        cpu = settings.DALLOSH_ANALYSIS
        print(f"model {args.model}: llama.cpp at nice {_nice(model.process.pid, thread_nice_levels)} on "
              f"{cpu.local_model_threads} threads (settings: nice {cpu.refine_nice}); "
              f"{os.cpu_count()} cores here", flush=True)
        started = time.perf_counter()
        label(texts[:args.backlog], first_id=90_000_000, timeout=args.timeout)  # also warms the label workers
        backlog = Ticket._get_collection().count_documents({"needs_refinement": True})
        print(f"backlog: {args.backlog:,} real tweets labelled in {time.perf_counter() - started:,.1f} s, "
              f"{backlog:,} unsure left for refinement", flush=True)
        _api_load(port, token, clients=args.clients, seconds=2)  # warm-up

        off = measure("refine off", args, texts[args.backlog:args.backlog + args.label], 91_000_000, port, token,
                      model_pid=model.process.pid, refine=None)
        refine = _start([sys.executable, "manage.py", "qcluster"], {**env, "Q_CLUSTER_NAME": work.REFINE_CLUSTER},
                        workdir / "qcluster-refine.log")
        processes.append(refine)
        work.enqueue_refinement()
        first = _wait(lambda: _audited("refined") > 0, timeout=args.timeout, what="the first refined ticket")
        print(f"refine cluster on: first ticket refined after {first:,.1f} s", flush=True)
        kick = threading.Event()
        sweeper = threading.Thread(target=_sweep, args=(kick,), daemon=True)  # the housekeeping sweeper's part
        sweeper.start()
        try:
            workers = [p.pid for p in _tree(refine.pid)]
            on = measure("refine on", args, texts[args.backlog + args.label:], 92_000_000, port, token,
                         model_pid=model.process.pid, refine=refine)
            refine_nice = sorted({level for pid in workers for level in _levels(pid, thread_nice_levels)})
            model_nice = _nice(model.process.pid, thread_nice_levels)  # its decoding threads included now
        finally:
            kick.set()
        report(args, off, on, refine_nice=refine_nice, model_nice=model_nice)
    finally:
        for process in reversed(processes):
            stop_group(process, timeout=30)
        model.stop()


def measure(name: str, args, texts: list[tuple[str, str]], first_id: int, port: int, token: str, *,
            model_pid: int, refine: subprocess.Popen | None) -> Phase:
    """Labelling, then the API under load, with the CPU the LLM side took meanwhile."""
    from tickets.models import Ticket

    phase = Phase(name)
    refined, summarised = _audited("refined"), _audited("summarised")
    llm_before, wall_before = _llm_cpu(model_pid, refine), time.perf_counter()
    phase.label_s = label(texts, first_id=first_id, timeout=args.timeout)
    phase.labelled = len(texts)
    print(f"{name}: {len(texts):,} tickets labelled and routed in {phase.label_s:,.1f} s", flush=True)
    phase.latencies, phase.errors, phase.api_s = _api_load(port, token, clients=args.clients, seconds=args.seconds)
    print(f"{name}: {len(phase.latencies):,} API requests in {phase.api_s:,.1f} s", flush=True)
    phase.llm_cpu_s, phase.wall_s = _llm_cpu(model_pid, refine) - llm_before, time.perf_counter() - wall_before
    phase.refined, phase.summarised = _audited("refined") - refined, _audited("summarised") - summarised
    phase.backlog_left = Ticket._get_collection().count_documents({"needs_refinement": True})
    return phase


def label(texts: list[tuple[str, str]], *, first_id: int, timeout: float) -> float:
    """Ingest `texts` through the stream door in chunks (each chunk queues its labelling, as
    in production) and wait until every ticket is routed; the seconds that took."""
    from analysis import work
    from ingestion.services import ingest_records
    from tickets.models import Ticket

    records = [{"tweet_id": str(first_id + n), "author_id": f"refineload{first_id + n}", "inbound": True,
                "text": text, "created_at": "Tue Oct 31 10:00:00 +0000 2017", "response_tweet_id": "",
                "in_response_to_tweet_id": None} for n, (_, text) in enumerate(texts)]
    started = time.perf_counter()
    for start in range(0, len(records), CHUNK):
        ingest_records(records=records[start:start + CHUNK], source="twcs")
    tickets = Ticket._get_collection()

    def routed() -> bool:
        if tickets.count_documents({"needs_analysis": True}, limit=1):
            work.enqueue_pending()  # what the housekeeping sweeper does every minute
            return False
        return True

    _wait(routed, timeout=timeout, what="every ticket routed", every=0.2)
    return time.perf_counter() - started


def _api_load(port: int, token: str, *, clients: int, seconds: float) -> tuple[list[float], int, float]:
    """`clients` threads GET the queue API back to back for `seconds`: (latencies, errors, wall)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        while time.perf_counter() < deadline[0]:
            began = time.perf_counter()
            try:
                connection.request("GET", API_PATH, headers=headers)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException):
                ok = False
                connection.close()
            latencies[n].append(time.perf_counter() - began)
            errors[n] += not ok
        connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for thread in threads:
        thread.join()
    return [t for per_client in latencies for t in per_client], sum(errors), time.perf_counter() - began


def report(args, off: Phase, on: Phase, *, refine_nice: list[int], model_nice: str) -> None:
    rows = [
        (f"labelling {off.labelled:,} tickets (s)", lambda p: f"{p.label_s:,.1f}"),
        ("  tickets routed per second", lambda p: f"{p.labelled / max(p.label_s, 1e-9):,.0f}"),
        (f"API {args.clients} clients: requests/s", lambda p: f"{len(p.latencies) / max(p.api_s, 1e-9):,.1f}"),
        ("  p50 latency (ms)", lambda p: f"{pct(p.latencies, 50) * 1000:,.0f}"),
        ("  p95 latency (ms)", lambda p: f"{pct(p.latencies, 95) * 1000:,.0f}"),
        ("  max latency (ms)", lambda p: f"{max(p.latencies, default=0) * 1000:,.0f}"),
        ("  answers other than 200", lambda p: f"{p.errors:,}"),
        ("LLM side CPU (% of one core)", lambda p: f"{100 * p.llm_cpu_s / max(p.wall_s, 1e-9):,.0f}"),
        ("tickets refined meanwhile", lambda p: f"{p.refined:,}"),
        ("summaries written meanwhile", lambda p: f"{p.summarised:,}"),
        ("unsure tickets left", lambda p: f"{p.backlog_left:,}"),
    ]
    print()
    print(f"REFINE LOAD: {args.model}, {args.tickets:,} tickets in the store (SCALED DATA, synthetic labels), "
          "labelling on real shared tweets")
    print(f"every thread of the model server at nice {model_nice}; the refine cluster's processes at nice levels "
          f"{refine_nice} (its workers at DALLOSH_REFINE_NICE; its sentinel, pusher and monitor, which only pass "
          "messages, as started)")
    print(f"{'':<36}{off.name:>14}{on.name:>14}")
    for title, value in rows:
        print(f"{title:<36}{value(off):>14}{value(on):>14}")
    if on.refined + on.summarised == 0:
        print("the refine cluster did no LLM work during its phase: the comparison says nothing")
    elif on.backlog_left == 0:
        print("the refinement backlog ran out during the 'on' phase: raise --backlog for a phase refining throughout")


def _agent_token() -> str:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from dallosh import tokens
    from dallosh.permissions import AGENT_GROUP, team_group

    user, _ = get_user_model().objects.get_or_create(username="bench-refine-load")
    user.groups.set([Group.objects.get_or_create(name=name)[0] for name in (AGENT_GROUP, team_group(TEAM))])
    return tokens.replace_token(user)


def _texts(count: int) -> list[tuple[str, str]]:
    """`count` distinct real shared tweets, English and French interleaved."""
    by_language = distinct_by_language()
    mixed = [t for pair in zip(by_language["en"], by_language["fr"], strict=False) for t in pair]
    mixed += by_language["en"][len(by_language["fr"]):] + by_language["fr"][len(by_language["en"]):]
    if len(mixed) < count:
        sys.exit(f"only {len(mixed):,} distinct tweets in ../shared/data: lower --backlog or --label")
    return mixed[:count]


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait(done, *, timeout: float, what: str, every: float = 0.5) -> float:
    started = time.perf_counter()
    while not done():
        if time.perf_counter() - started > timeout:
            sys.exit(f"no {what} within {timeout:,.0f} s")
        time.sleep(every)
    return time.perf_counter() - started


def _sweep(stop: threading.Event) -> None:
    """Hand out the next unsure tickets every few seconds (the refine tasks do it themselves;
    this stands in for the housekeeping cluster's sweeper, not running here)."""
    from analysis import work

    while not stop.wait(5):
        with contextlib.suppress(Exception):
            work.enqueue_refinement()


def _audited(action: str) -> int:
    from tickets.models import Ticket

    return Ticket._get_collection().count_documents({"audit.action": action})


def _tree(pid: int) -> list:
    import psutil

    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def _llm_cpu(model_pid: int, refine: subprocess.Popen | None) -> float:
    """CPU seconds used so far by the model server and the refine cluster's processes."""
    import psutil

    total = 0.0
    for process in _tree(model_pid) + (_tree(refine.pid) if refine else []):
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _levels(pid: int, reader) -> set[int]:
    try:
        return set(reader(pid).values())
    except OSError:
        return set()


def _nice(pid: int, reader) -> str:
    levels = sorted(_levels(pid, reader))
    return "/".join(map(str, levels)) or "?"


if __name__ == "__main__":
    main()
