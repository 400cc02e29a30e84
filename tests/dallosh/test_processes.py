"""CPU priority (dallosh/processes.py): a process lowers every thread it has, and the threads
it starts afterwards inherit the value; nothing is ever raised, and the level is capped at
19. A priority once lowered cannot be raised back by an ordinary user, so each case runs in
a process of its own, never the test session's. OpenMP's knobs are set unless the operator
set them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dallosh import processes

pytestmark = pytest.mark.no_servers

ROOT = Path(__file__).resolve().parents[2]

# Three threads already running, then lower_priority, then a thread started afterwards;
# the nice level of every thread as /proc reads it (thread_nice_levels) at each step.
SCRIPT = """
import json, os, sys, threading
from dallosh import processes
stop = threading.Event()
before = [threading.Thread(target=stop.wait) for _ in range(3)]
for thread in before:
    thread.start()
steps = {}
for nice in map(int, sys.argv[1:]):
    steps[nice] = processes.lower_priority(nice)
late = threading.Thread(target=stop.wait)
late.start()
print(json.dumps({"returned": steps, "levels": sorted(set(processes.thread_nice_levels(os.getpid()).values())),
                  "threads": len(processes.thread_nice_levels(os.getpid()))}))
stop.set()
"""


def lowered(*levels: int) -> dict:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, levels)], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_thread_is_lowered_and_the_ones_started_later_inherit_it():
    start = os.getpriority(os.PRIO_PROCESS, 0)
    outcome = lowered(start + 5)
    assert outcome["returned"] == {str(start + 5): start + 5}
    assert outcome["threads"] == 5  # the main thread, three before, one after
    assert outcome["levels"] == [start + 5]


def test_a_priority_is_never_raised_and_never_below_the_lowest():
    start = os.getpriority(os.PRIO_PROCESS, 0)
    if start > 10:
        pytest.skip(f"the test session already runs at nice {start}")
    outcome = lowered(start + 8, start + 2, 40)
    assert outcome["returned"] == {str(start + 8): start + 8, str(start + 2): start + 8, "40": 19}
    assert outcome["levels"] == [19]


def test_nice_levels_are_read_even_when_the_command_holds_spaces_and_parentheses(tmp_path):
    odd = tmp_path / "a) b (c"  # /proc/<pid>/stat puts the command in parentheses
    odd.symlink_to("/bin/sleep")
    sleeper = subprocess.Popen(["nice", "-n", "7", str(odd), "30"])
    try:
        expected = os.getpriority(os.PRIO_PROCESS, 0) + 7
        wanted = {sleeper.pid: min(expected, 19)}
        for _ in range(500):  # until nice has exec'd the sleeper
            if (Path("/proc") / str(sleeper.pid) / "comm").read_text().strip() == odd.name:
                break
            time.sleep(0.01)
        assert processes.thread_nice_levels(sleeper.pid) == wanted
    finally:
        sleeper.kill()
        sleeper.wait()


def test_openmp_is_told_its_knobs_unless_the_operator_set_them(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "unset")  # so that monkeypatch removes it again afterwards
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the operator's choice
    processes.tell_openmp(OMP_NUM_THREADS="2", OMP_WAIT_POLICY="PASSIVE")
    assert os.environ["OMP_NUM_THREADS"] == "2"
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
