"""Start and stop the embedded default's servers: SecantusDB (MongoDB protocol), Redis, the
demo's support mailbox (Debian's Dovecot, IMAPS on loopback) and the built-in local model
(llama.cpp serving Qwen2.5-Coder-1.5B, the last analysis tier).

One home for how these processes are launched, used by the demo script, the test session and
the benchmarks. Production does not use this module: it points MONGODB_URI and REDIS_URL at
real clusters.

    python -m config.embedded start|stop|status [--var DIR]
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR = ROOT / "var"
SERVERS = ("mongodb", "redis", "mailbox", "local-model")


class EmbeddedServerError(RuntimeError):
    """A server of the embedded default could not be started."""


@dataclass
class ServerProcess:
    name: str
    port: int
    process: subprocess.Popen | None
    url: str

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def stop_group(process: subprocess.Popen, *, timeout: float) -> None:
    """SIGTERM a process started in its own session and its children (qcluster forks
    workers), SIGKILL them after `timeout` seconds."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, process: subprocess.Popen, name: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedServerError(f"{name} exited with {process.returncode}; see {log}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise EmbeddedServerError(f"{name} did not listen on 127.0.0.1:{port} within {timeout}s; see {log}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def redis_url(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def mongo_uri(port: int, database: str = "dallosh") -> str:
    return f"mongodb://127.0.0.1:{port}/{database}?directConnection=true"


def start_secantus(*, port: int, storage: Path, log: Path, cache_size: str = "1G") -> ServerProcess:
    """Start SecantusDB, a MongoDB wire-protocol server on WiredTiger, on loopback."""
    exe = Path(sys.executable).parent / "secantusd-py"
    if not exe.exists():
        raise EmbeddedServerError(f"secantusd-py not found beside {sys.executable}: run scripts/bootstrap.sh")
    storage.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(exe), "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage),
           "--log-level", "WARNING", "--cache-size", cache_size]
    process = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, process=process, name="secantusd-py", log=log)
    return ServerProcess("mongodb", port, process, mongo_uri(port))


def start_redis(*, port: int, directory: Path, log: Path) -> ServerProcess:
    """Start a private redis-server on loopback (Channels layer and django-q2 broker)."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(exe).exists():
        raise EmbeddedServerError("redis-server not found: run scripts/bootstrap.sh (apt-get install redis-server)")
    directory, log = directory.resolve(), log.resolve()  # redis-server chdirs to --dir: relative paths break
    directory.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory),
           "--save", "60 1000", "--appendonly", "no", "--protected-mode", "yes", "--logfile", str(log)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    wait_for_port(port, process=process, name="redis-server", log=log)
    return ServerProcess("redis", port, process, redis_url(port))


@dataclass
class MailServer:
    """A private Dovecot on loopback: its IMAPS URL for `user`, and the CA that signed it."""

    server: ServerProcess
    user: str
    password: str
    cafile: Path

    @property
    def url(self) -> str:
        return f"imaps://{self.user}:{self.password}@127.0.0.1:{self.server.port}/INBOX"

    def stop(self) -> None:
        self.server.stop()


def start_dovecot(*, port: int, directory: Path, user: str = "support", password: str = "support") -> MailServer:
    """Start Debian's Dovecot (dovecot-imapd) on loopback with IMAP over TLS only, one mailbox
    user, Maildir storage under `directory` and a self-signed certificate made here. Run as
    root it drops to Debian's dovecot/dovenull accounts (so `directory` must be reachable by
    them: under /tmp or var/, not a private home), as anyone else it runs as them."""
    exe = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(exe).exists():
        raise EmbeddedServerError("dovecot not found: run scripts/bootstrap.sh (apt-get install dovecot-imapd)")
    directory = directory.resolve()
    for sub in ("run", "state", "mail"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    (directory / "users").write_text(f"{user}:{{PLAIN}}{password}::::::\n")
    if os.getuid() == 0:  # its mail and auth processes read the users file and the mail as dovecot
        internal, login = "dovecot", "dovenull"
        directory.chmod(0o755)  # its parents must let others through too (not a 0700 home)
        for path in (directory / "mail", directory / "users"):
            shutil.chown(path, internal, internal)
    else:
        internal = login = pwd.getpwuid(os.getuid()).pw_name
    config = directory / "dovecot.conf"
    config.write_text(DOVECOT_CONF.format(dir=directory, port=port, internal=internal, login=login))
    log = directory / "dovecot.log"
    process = subprocess.Popen([exe, "-F", "-c", str(config)], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    wait_for_port(port, process=process, name="dovecot", log=log)
    return MailServer(ServerProcess("dovecot", port, process, f"imaps://127.0.0.1:{port}"), user, password, cert)


DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
ssl = required
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid={internal} gid={internal} home={dir}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _pidfile(var: Path, name: str) -> Path:
    return var / "run" / f"{name}.pid"


def _running_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def start_local_model(*, name: str, port: int, log: Path, threads: int | None = None,
                      nice: int | None = None) -> ServerProcess:
    """The llama.cpp server of the local analysis tier, once its model has loaded; on the
    settings' thread count and nice level (DALLOSH_LOCAL_MODEL_THREADS, DALLOSH_REFINE_NICE)
    unless given, so that refining never slows labelling or the pages."""
    from analysis import local_model

    local_model.model_path(name)  # verified (and joined, the first time) before anything starts
    process = local_model.start_server(name=name, port=port, log=log, threads=threads, nice=nice)
    wait_for_port(port, process=process, name=f"local model {name}", log=log, timeout=120)
    local_model.wait_until_ready(port=port, timeout=300)
    return ServerProcess("local-model", port, process, f"http://127.0.0.1:{port}/v1")


def start_all(var: Path = DEFAULT_VAR) -> None:
    """Start the servers as daemons with pid files under var/run (no-op for a running one)."""
    from django.conf import settings  # the ports and the model: settings, on the embedded default

    embedded = settings.EMBEDDED
    (var / "run").mkdir(parents=True, exist_ok=True)
    starters = {
        "mongodb": lambda: start_secantus(port=embedded.mongo_port, storage=var / "mongo",
                                          log=var / "log" / "mongodb.log"),
        "redis": lambda: start_redis(port=embedded.redis_port, directory=var / "redis",
                                     log=var / "log" / "redis.log"),
    }
    if embedded.mailbox_port:  # the demo's support mailbox
        starters["mailbox"] = lambda: start_dovecot(port=embedded.mailbox_port, directory=var / "mailbox").server
    if embedded.local_model != "off":
        starters["local-model"] = lambda: start_local_model(name=embedded.local_model,
                                                            port=embedded.local_model_port,
                                                            log=var / "log" / "local-model.log")
    for name, start in starters.items():
        pidfile = _pidfile(var, name)
        if _running_pid(pidfile):
            print(f"{name}: already running (pid {pidfile.read_text().strip()})")
            continue
        server = start()
        pidfile.write_text(str(server.process.pid))
        print(f"{name}: started on 127.0.0.1:{server.port} (pid {server.process.pid})")


def stop_all(var: Path = DEFAULT_VAR) -> None:
    """SIGTERM each server, then SIGKILL one still there after 20 s (the model server can
    ignore SIGTERM while a request is in flight)."""
    for name in reversed(SERVERS):
        pidfile = _pidfile(var, name)
        pid = _running_pid(pidfile)
        if pid:
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):
                if _running_pid(pidfile) is None:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
            print(f"{name}: stopped")
        pidfile.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--var", type=Path, default=DEFAULT_VAR)
    args = parser.parse_args()
    if args.action == "start":
        # The ports, the model, its thread count and nice level are settings: read them as
        # manage.py would, on the embedded default (scripts/demo.sh exports both anyway).
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        os.environ.setdefault("DJANGO_DEBUG", "1")
        start_all(args.var)
    elif args.action == "stop":
        stop_all(args.var)
    else:
        for name in SERVERS:
            pid = _running_pid(_pidfile(args.var, name))
            print(f"{name}: {f'running (pid {pid})' if pid else 'stopped'}")


if __name__ == "__main__":
    main()
