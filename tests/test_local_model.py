"""The built-in local model answers, through the OpenAI client, JSON that the schema accepts."""

import json

import pytest
from openai import OpenAI

from analysis import local_model, schema


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
    analysis = schema.validate(json.loads(choice.message.content))
    assert analysis.topic in schema.TOPICS and response.usage.completion_tokens > 0


def test_a_model_file_that_does_not_match_its_hash_is_refused(monkeypatch):
    spec = local_model.MODELS["smollm2-135m"]
    monkeypatch.setitem(local_model.MODELS, "smollm2-135m", local_model.ModelSpec(
        spec.package, spec.filename, spec.size, "0" * 64))
    with pytest.raises(local_model.ModelUnavailable, match="does not match its pinned sha256"):
        local_model.model_path("smollm2-135m")
