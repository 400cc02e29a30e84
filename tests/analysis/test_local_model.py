"""The built-in local model answers, through the OpenAI client, JSON that the schema accepts."""

import json

import pytest
from openai import OpenAI

from analysis import local_model, schema
from dallosh import vocabulary


def test_schema_constrained_answer_is_a_valid_analysis(smollm2):
    client = OpenAI(base_url=smollm2, api_key="local", timeout=60, max_retries=0)
    response = client.chat.completions.create(
        model="smollm2-135m", temperature=0, max_tokens=200,
        messages=[{"role": "system", "content": "Label the customer tweet as JSON."},
                  {"role": "user", "content": "my fibre is down since monday, fix it or I leave"}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "analysis", "strict": True, "schema": schema.json_schema()}},
    )
    choice = response.choices[0]
    assert choice.finish_reason == "stop"
    analysis = vocabulary.validate(json.loads(choice.message.content))
    assert analysis.topic in vocabulary.TOPICS and response.usage.completion_tokens > 0


def test_a_model_file_that_does_not_match_its_hash_is_refused(monkeypatch):
    spec = local_model.MODELS["smollm2-135m"]
    monkeypatch.setitem(local_model.MODELS, "smollm2-135m", local_model.ModelSpec(
        spec.package, spec.filename, spec.size, "0" * 64))
    with pytest.raises(local_model.ModelUnavailable, match="does not match its pinned sha256"):
        local_model.model_path("smollm2-135m")


def test_the_default_model_is_joined_from_its_pypi_parts_and_verified(tmp_path, settings):
    settings.EMBEDDED = settings.EMBEDDED.replace(model_dir=tmp_path)
    path = local_model.model_path(local_model.DEFAULT_MODEL)
    spec = local_model.MODELS[local_model.DEFAULT_MODEL]
    assert path.parent == tmp_path and path.stat().st_size == 1_117_320_768 == spec.size
    with path.open("rb") as model:
        assert model.read(4) == b"GGUF"
    path.unlink()  # 1 GB: not kept in the test's temporary directory


def test_a_worker_starts_the_local_model_when_nothing_listens(use_tiers, settings, tmp_path):
    import os
    import signal

    from analysis.chain import default_chain
    from analysis.prompts import Item
    from config.embedded import free_port

    port = free_port()
    use_tiers(("local", f"http://127.0.0.1:{port}/v1"), timeout_s=120)
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(local_autostart=True).with_tier(
        "local", model="smollm2-135m")
    settings.VAR_DIR = tmp_path
    try:
        result = default_chain().analyse([Item(id="t", text="no signal at all since this morning")])
        answering = local_model.is_ready(port)
    finally:
        pidfile = tmp_path / "run" / f"local-model-{port}.pid"
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert pidfile.exists() and answering, "no server was started"
    # SmolLM2 is for plumbing: its answer may be unusable, but it must come from the server
    assert "t" in result.analysed or result.failed["t"] == ["local: bad_answer"], result.failed


def test_the_launcher_starts_the_local_model_at_the_refine_nice_level_on_its_thread_count(settings, tmp_path):
    """xllamacpp serves in the process the launcher starts: every thread of it (HTTP and
    decoding) runs at DALLOSH_REFINE_NICE, and llama.cpp decodes on DALLOSH_LOCAL_MODEL_THREADS."""
    from config import embedded
    from dallosh.processes import thread_nice_levels

    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(refine_nice=11, local_model_threads=2)
    log = tmp_path / "llm.log"
    server = embedded.start_local_model(name="smollm2-135m", port=embedded.free_port(), log=log)
    try:
        OpenAI(base_url=server.url, api_key="local", timeout=120, max_retries=0).chat.completions.create(
            model="smollm2-135m", max_tokens=8, messages=[{"role": "user", "content": "no signal since monday"}])
        levels = thread_nice_levels(server.process.pid)  # the decoding threads have worked by now
    finally:
        server.stop()
    assert len(levels) > 2 and set(levels.values()) == {11}, levels
    assert "llama threadpool init, n_threads = 2" in log.read_text(errors="replace")
