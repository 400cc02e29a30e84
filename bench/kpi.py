"""KPI benchmark: the managers' pages and API on a store of millions of tickets.

    .venv/bin/python bench/kpi.py [--tickets 2400000] [--repeat 20] [--workdir DIR]

SCALED DATA: the store is built like bench/live.py's (the shared tweets' texts reused,
SYNTHETIC labels with fixed shares, ages over the last 60 days, 55 % open), written with
bare `insert_many`; then `rebuild_kpis` sums the day and hour rollups from the tickets,
as after a restore (the pipeline keeps them up to date one change at a time). Each KPI
request's server time is the Django test client's wall time for one GET (middleware,
rollup reads, template or JSON), --repeat times per endpoint after one warm-up request.
Goal: p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import build_store, embedded_stack, pct  # noqa: E402

ENDPOINTS = [
    ("KPI page, all time", "/kpis/"),
    ("KPI page, last 30 days", "/kpis/?period=30d"),
    ("KPI page, last 7 days", "/kpis/?period=7d"),
    ("KPI page, last 24 h (hourly)", "/kpis/?period=24h"),
    ("KPI page, tech + network", "/kpis/?team=tech&topic=network"),
    ("KPI page, fr + negative, 30 days", "/kpis/?period=30d&language=fr&sentiment=negative"),
    ("KPI CSV export (topics)", "/kpis/?export=topics"),
    ("KPI API, 30 days", "/api/v1/kpis?period=30d"),
    ("KPI API, billing, all time", "/api/v1/kpis?team=billing"),
    ("dashboard overview", "/"),
    ("alerts panel", "/alerts/panel/"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2_400_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the store here; a store already holding --tickets tickets is reused")
    args = parser.parse_args()
    with embedded_stack(args.workdir, prefix="bench-kpi-"):
        measure(args)


def measure(args) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from dallosh.permissions import MANAGER_GROUP
    from dashboard import kpis
    from dashboard.models import KpiBucket
    from tickets import directory as ticket_directory
    from tickets.models import Ticket

    stored = Ticket._get_collection().estimated_document_count()
    if stored < args.tickets:
        build_store(args.tickets - stored, start=stored)
        stored = Ticket._get_collection().estimated_document_count()
    if not KpiBucket._get_collection().estimated_document_count():
        started = time.perf_counter()
        buckets = kpis.rebuild_kpis()
        ticket_directory.rebuild_queue_directory()
        print(f"rollups rebuilt from the tickets: {buckets:,} day and hour buckets in "
              f"{time.perf_counter() - started:,.1f} s", flush=True)
    manager, _ = get_user_model().objects.get_or_create(username="bench-manager")
    manager.groups.set([Group.objects.get_or_create(name=MANAGER_GROUP)[0]])
    client = Client()
    client.force_login(manager)
    print()
    print(f"KPI: {stored:,} tickets (SCALED DATA, synthetic labels), {args.repeat} requests per endpoint, "
          "server time")
    everything = []
    for name, url in ENDPOINTS:
        client.get(url)  # warm-up, not counted: a fresh process compiles templates on its first request
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        everything += times
        print(f"  {name:<36} p50 {pct(times, 50):7.1f} ms  p95 {pct(times, 95):7.1f} ms  max {max(times):7.1f} ms",
              flush=True)
    print(f"all KPI requests                       p50 {pct(everything, 50):7.1f} ms  "
          f"p95 {pct(everything, 95):7.1f} ms   (goal p95 < 300 ms)")


if __name__ == "__main__":
    main()
