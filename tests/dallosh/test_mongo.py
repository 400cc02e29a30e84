"""Dates read back from MongoDB are aware UTC, whatever the connection hands back; a command
run while MongoDB is down says so plainly."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from config.embedded import ROOT, free_port
from dallosh.mongo import as_utc

pytestmark = pytest.mark.no_servers


def test_a_naive_date_is_taken_as_utc_and_an_aware_one_is_kept():
    assert as_utc(datetime(2017, 10, 31, 10, 5)) == datetime(2017, 10, 31, 10, 5, tzinfo=UTC)
    paris = datetime(2017, 10, 31, 11, 5, tzinfo=timezone(timedelta(hours=1)))
    assert as_utc(paris) is paris and as_utc(paris) == datetime(2017, 10, 31, 10, 5, tzinfo=UTC)


def test_a_command_without_mongodb_says_so_in_one_line_without_a_traceback():
    port = free_port()  # nothing listens there
    env = {**os.environ, "MONGODB_URI": f"mongodb://dallosh:secret@127.0.0.1:{port}/x?serverSelectionTimeoutMS=300",
           "DJANGO_DEBUG": "1"}
    done = subprocess.run([sys.executable, "manage.py", "evaluate_analysis", "--from-corrections"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "secret" not in done.stderr
    assert f"MongoDB does not answer (127.0.0.1:{port}: " in done.stderr
    assert "python -m config.embedded start" in done.stderr
