"""config/embedded.py: the launcher of the embedded default's servers. Its URLs; a server that
dies or never listens is reported with its log, not waited on for ever; a process group is
stopped whole, by SIGKILL when SIGTERM is ignored; and `python -m config.embedded` starts
SecantusDB and Redis as daemons with pid files, leaves running ones alone, and stops them.
(The local model's launch, its nice level and thread count, is tested in
tests/analysis/test_local_model.py: no model server is started here.)"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from config import embedded
from config.embedded import EmbeddedServerError, free_port, start_redis, stop_group, wait_for_port
from tests.steps import wait_for

pytestmark = pytest.mark.no_servers

ROOT = Path(__file__).resolve().parents[2]


def gone(pid: int) -> bool:
    """No such process, or one that has exited and waits to be reaped (a zombie)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_servers_urls_name_loopback_and_the_port():
    assert embedded.mongo_uri(27018) == "mongodb://127.0.0.1:27018/dallosh?directConnection=true"
    assert embedded.mongo_uri(4000, "dallosh_test") == "mongodb://127.0.0.1:4000/dallosh_test?directConnection=true"
    assert embedded.redis_url(6380) == "redis://127.0.0.1:6380/0"


def test_a_server_that_dies_is_reported_with_the_end_of_its_log(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {n}\n" for n in range(30)) + "bind: address already in use\n")
    dying = subprocess.Popen(["sh", "-c", "exit 3"])
    with pytest.raises(EmbeddedServerError) as refused:
        wait_for_port(free_port(), process=dying, name="secantusd-py", log=log, timeout=10)
    message = str(refused.value)
    assert message.startswith(f"secantusd-py exited with 3; see {log}:\nline 11\n")  # the last 20 lines
    assert message.endswith("line 29\nbind: address already in use")


def test_a_server_that_never_listens_is_given_up_on(tmp_path):
    port = free_port()
    silent = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(EmbeddedServerError, match=rf"^redis-server did not listen on 127.0.0.1:{port} within 0.5s"):
            wait_for_port(port, process=silent, name="redis-server", log=tmp_path / "redis.log", timeout=0.5)
    finally:
        silent.kill()
        silent.wait()


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_a_process_group_is_stopped_with_its_children(ignores_sigterm):
    """qcluster forks workers: stopping it must stop them too, even if they ignore SIGTERM."""
    trap = 'trap "" TERM; ' if ignores_sigterm else ""
    parent = subprocess.Popen(["sh", "-c", f"{trap}sleep 60 & echo $!; wait"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    child = int(parent.stdout.readline())
    stop_group(parent, timeout=0.5)
    parent.stdout.close()
    assert parent.returncode == (-9 if ignores_sigterm else -15)
    wait_for(lambda: gone(child), until=bool, timeout=5, every=0.05)  # a signal lands in a moment, not at once


def test_redis_starts_on_relative_paths_though_it_changes_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server = start_redis(port=free_port(), directory=Path("redis"), log=Path("redis.log"))
    try:
        assert redis.from_url(server.url).ping()
    finally:
        server.stop()
    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    assert (tmp_path / "redis").is_dir() and "Ready to accept connections" in (tmp_path / "redis.log").read_text()


def launcher(*args: str, env: dict) -> str:
    done = subprocess.run([sys.executable, "-m", "config.embedded", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow  # Redis and SecantusDB take seconds to save and stop
def test_the_launcher_starts_the_servers_as_daemons_once_and_stops_them(tmp_path):
    var = tmp_path / "var"
    mongo_port, redis_port = free_port(), free_port()
    env = {**os.environ, "DALLOSH_MONGO_PORT": str(mongo_port), "DALLOSH_REDIS_PORT": str(redis_port),
           "DALLOSH_LOCAL_MODEL": "off", "DALLOSH_MAILBOX_PORT": "0"}  # no model server, no mailbox here
    try:
        started = launcher("start", "--var", str(var), env=env).splitlines()
        pids = {name: int((var / "run" / f"{name}.pid").read_text()) for name in ("mongodb", "redis")}
        assert started == [f"mongodb: started on 127.0.0.1:{mongo_port} (pid {pids['mongodb']})",
                           f"redis: started on 127.0.0.1:{redis_port} (pid {pids['redis']})"]
        for port in (mongo_port, redis_port):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        assert launcher("start", "--var", str(var), env=env).splitlines() == [
            f"mongodb: already running (pid {pids['mongodb']})", f"redis: already running (pid {pids['redis']})"]
        assert launcher("status", "--var", str(var), env=env).splitlines() == [
            f"mongodb: running (pid {pids['mongodb']})", f"redis: running (pid {pids['redis']})",
            "mailbox: stopped", "local-model: stopped"]
    finally:
        stopped = launcher("stop", "--var", str(var), env=env).splitlines()
    assert stopped == ["redis: stopped", "mongodb: stopped"]  # the reverse of the starting order
    assert all(gone(pid) for pid in pids.values())  # stop waits for each to go
    assert list((var / "run").iterdir()) == []
    assert launcher("stop", "--var", str(var), env=env) == ""  # nothing left to stop
