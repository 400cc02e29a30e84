"""The system checks (analysis/checks.py): with the fast tier on, a worker or server refuses to
start on encoder weights that do not match their pinned hashes (analysis.E001) or on starter
heads it cannot read (analysis.E002), saying how to repair; with it off, neither matters."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from analysis import checks, classifier, embeddings

pytestmark = pytest.mark.no_servers


@pytest.fixture
def tampered_weights(monkeypatch):
    spec = embeddings.ENCODERS["use-m"]
    tampered = embeddings.EncoderSpec(spec.name, spec.package, ((spec.files[0][0], "0" * 64), spec.files[1]),
                                      dim=spec.dim)
    monkeypatch.setitem(embeddings.ENCODERS, "use-m", tampered)


def test_a_weight_file_with_the_wrong_hash_stops_the_start_with_a_clear_message(tampered_weights, settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True)
    with pytest.raises(SystemCheckError, match="does not match its pinned sha256"):
        call_command("check")
    [error] = checks.fast_tier_is_usable()
    assert error.id == "analysis.E001" and "DALLOSH_FAST_TIER=off" in error.hint


def test_unreadable_starter_heads_stop_the_start_and_say_how_to_rebuild_them(tmp_path, monkeypatch, settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True)
    broken = tmp_path / "starter.npz"
    broken.write_bytes(b"not an npz archive")
    monkeypatch.setattr(classifier, "STARTER_FILE", broken)
    [error] = checks.fast_tier_is_usable()
    assert error.id == "analysis.E002" and str(broken) in error.msg
    assert error.hint == "Restore the file from git, or rebuild it: python -m bench.heads --write"


def test_the_shipped_weights_and_heads_pass(settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True)
    assert checks.fast_tier_is_usable() == []


def test_with_the_fast_tier_off_the_weights_are_not_checked(tampered_weights, settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=False)
    assert checks.fast_tier_is_usable() == [], "the LLM chain labels every ticket: the weights are not read"
    call_command("check")
