"""The typed settings: a change is a copy that leaves every other value as configured, and
a misspelt or frozen name fails loudly instead of reading a default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dallosh.conf import AnalysisSettings, QueueSettings, TierSettings

pytestmark = pytest.mark.no_servers


def test_replace_changes_one_value_and_keeps_the_rest():
    queue = QueueSettings(page_size=50, scan_budget_ms=80, window_max=300)
    smaller = queue.replace(page_size=4)
    assert (smaller.page_size, smaller.scan_budget_ms, smaller.window_max) == (4, 80, 300)
    assert queue.page_size == 50


def test_a_setting_can_be_neither_misspelt_nor_changed_in_place():
    queue = QueueSettings(page_size=50, scan_budget_ms=80, window_max=300)
    with pytest.raises(TypeError):
        queue.replace(page_sise=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        queue.page_size = 4  # type: ignore[misc]


def test_one_tier_is_changed_without_touching_the_others(settings):
    configured = settings.DALLOSH_ANALYSIS
    assert isinstance(configured, AnalysisSettings)
    changed = configured.with_tier("local", model="smollm2-135m")
    assert changed.providers["local"].model == "smollm2-135m"
    assert changed.providers["local"].base_url == configured.providers["local"].base_url
    assert changed.providers["openai"] is configured.providers["openai"]
    assert configured.providers["local"].model != "smollm2-135m"
    assert isinstance(changed.providers["local"], TierSettings)


def test_every_concern_is_a_typed_object_in_the_settings(settings):
    assert isinstance(settings.DALLOSH_INGEST.upload_dir, Path)
    assert settings.DALLOSH_SLA.hours["high"] < settings.DALLOSH_SLA.hours["low"]
    assert settings.DALLOSH_ACCESS.login_failures > 0
