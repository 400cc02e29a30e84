"""CPU priority of a process: work that can wait (the LLM refining unsure tickets in the
background) yields the CPU to work people wait on (labelling and routing, ingestion, the
pages and the API), so that on a small machine refinement takes only the idle cycles.

On Linux the nice value belongs to each thread, not to the process: setpriority() with
PRIO_PROCESS and 0 changes the calling thread alone, and a new thread starts at the value
of the thread that creates it. A process therefore lowers itself by lowering every thread
it has now (listed in /proc/self/task); the threads it starts afterwards inherit the value.
"""

from __future__ import annotations

import os
from pathlib import Path

LOWEST = 19  # the lowest priority a nice value gives


def tell_openmp(**variables: str) -> None:
    """Set OpenMP's variables for a native library about to be loaded in this process (it
    reads them once, when it loads), unless the operator set them: the one place the process
    writes its own environment."""
    for name, value in variables.items():
        os.environ.setdefault(name, value)


def lower_priority(nice: int) -> int:
    """Lower every thread of this process to nice level `nice` (capped at 19) and return the
    calling thread's level afterwards. A thread already lower is left alone, and none is ever
    raised: a process running as root could, and nothing here asks for more CPU."""
    nice = min(nice, LOWEST)
    for _ in range(3):  # a thread started during a pass may have copied a value not lowered yet
        changed = False
        for thread in _threads():
            try:
                if os.getpriority(os.PRIO_PROCESS, thread) < nice:
                    os.setpriority(os.PRIO_PROCESS, thread, nice)
                    changed = True
            except OSError:  # the thread ended meanwhile
                continue
        if not changed:
            break
    return os.getpriority(os.PRIO_PROCESS, 0)


def thread_nice_levels(pid: int) -> dict[int, int]:
    """Thread id → nice level, for every thread of a running process (Linux)."""
    levels = {}
    for task in (Path("/proc") / str(pid) / "task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        # fields after the command, which is in parentheses and may hold spaces: nice is field 19
        levels[int(task.name)] = int(stat.rsplit(")", 1)[1].split()[16])
    return levels


def _threads() -> list[int]:
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():  # not Linux: the nice value is the process's own
        return [0]
    return [int(task.name) for task in tasks.iterdir()]
