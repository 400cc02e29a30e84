"""The tiers' scorecards: measured on the real tiers (the scripted LLM server, the real fast
heads), stored under their model and prompt version, read by the refinement queue, shown on
the overview, refreshed by `manage.py score_tiers`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from analysis import classifier, prompts, scorecards, training_data
from analysis.chain import tier_configs
from analysis.classifier import Example
from analysis.models import TierScorecard
from bench import llm_servers as faults

pytestmark = pytest.mark.django_db

FIELDS = ("sentiment", "topic", "urgency", "team", "actionable")


def labels(sentiment: str, topic: str, urgency: str, team: str, actionable: str) -> dict[str, str]:
    return {"sentiment": sentiment, "topic": topic, "urgency": urgency, "team": team, "actionable": actionable}


def store_card(tier: str, accuracy: dict[str, float], *, prompt_version: str | None = None) -> None:
    """A scorecard as `measure` stores it, for the model use_tiers configures ("<tier>-model")."""
    version = prompt_version or prompts.prompt_version()
    TierScorecard(id=f"{tier}:{tier}-model:{version}", tier=tier, model=f"{tier}-model", prompt_version=version,
                  sample="labelled-v1:300", measured_at=datetime(2025, 1, 6, 9, 30, tzinfo=UTC), tweets=300,
                  seconds=12.0, accuracy=accuracy, per_language={}, errors=0).save()
    scorecards.forget_cache()


def test_a_tier_is_measured_per_field_and_language_and_a_tweet_without_answer_counts_wrong(use_tiers,
                                                                                        fault_server):
    use_tiers(("openai", fault_server.url))
    # The scripted model's keyword labels (bench.llm_servers.expected_labels), against these:
    sample = [
        Example(id="a", text="my fibre is down", language="en",  # all five as the model says
                labels=labels("negative", "network", "high", "tech", "true")),
        Example(id="b", text="where is my bill, charged twice", language="en",  # the model: neutral
                labels=labels("negative", "billing", "low", "billing", "true")),
        Example(id="c", text="merci pour la fibre", language="fr",  # the model: network, tech
                labels=labels("positive", "other", "low", "commercial", "false")),
        Example(id="d", text="ma box est en panne", language="fr",  # the server fails: no answer
                labels=labels("negative", "network", "high", "tech", "true")),
    ]
    fault_server.play(faults.OK, faults.OK, faults.OK, faults.SERVER_ERROR)
    card = scorecards.measure(tier="openai", sample=sample)
    assert len(fault_server.requests) == 4
    stored = TierScorecard.objects.get(id=f"openai:openai-model:{prompts.prompt_version()}")
    assert stored.id == card.id and (stored.tier, stored.model, stored.sample) == ("openai", "openai-model", "given:4")
    assert (stored.tweets, stored.errors) == (4, 1)
    assert stored.accuracy == {"sentiment": 0.5, "topic": 0.5, "urgency": 0.75, "team": 0.5, "actionable": 0.75}
    assert stored.per_language == {
        "en": {"sentiment": 0.5, "topic": 1.0, "urgency": 1.0, "team": 1.0, "actionable": 1.0},
        "fr": {"sentiment": 0.5, "topic": 0.0, "urgency": 0.5, "team": 0.0, "actionable": 0.5}}
    [openai] = tier_configs()
    assert scorecards.expected_accuracy(tier_config=openai) == stored.accuracy


def test_the_fast_tier_is_measured_under_its_heads_name(settings):
    settings.DALLOSH_ANALYSIS = settings.DALLOSH_ANALYSIS.replace(fast_tier=True)
    classifier.forget_cache()
    sample = [Example(id="a", text="my fibre is down since this morning", language="en",
                      labels=labels("negative", "network", "high", "tech", "true")),
              Example(id="b", text="ma facture est fausse", language="fr",
                      labels=labels("negative", "billing", "medium", "billing", "true"))]
    card = scorecards.measure(tier="fast", sample=sample)
    assert card.id == f"fast:{classifier.active().name}:-" and card.prompt_version == "-"
    assert (card.tweets, card.errors) == (2, 0) and set(card.accuracy) == set(FIELDS)
    assert set(card.per_language) == {"en", "fr"}


def test_measuring_without_the_labelled_set_says_so(use_tiers, fault_server, settings, tmp_path):
    use_tiers(("openai", fault_server.url))
    settings.DALLOSH_SITE = settings.DALLOSH_SITE.replace(shared_data=tmp_path)
    with pytest.raises(ValueError, match=r"labelled_tweets\.csv is absent"):
        scorecards.measure(tier="openai")
    with pytest.raises(CommandError, match=r"labelled_tweets\.csv is absent"):
        call_command("score_tiers", "--tier", "openai")
    assert fault_server.requests == [] and TierScorecard.objects.count() == 0


def test_a_doubted_field_goes_to_the_llm_only_where_a_tier_is_expected_to_do_better(use_tiers, fault_server):
    use_tiers(("openai", fault_server.url), ("local", fault_server.url))
    doubts, confidence = ["sentiment", "topic"], {"sentiment": 0.7, "topic": 0.6}
    fields, basis = scorecards.fields_to_refine(unsure=doubts, confidence=confidence)
    assert fields == doubts and basis["topic"]["tier"] == "openai" and basis["topic"]["expected"] == "assumed"
    store_card("openai", {"sentiment": 0.5, "topic": 0.65, "urgency": 0.5, "team": 0.5, "actionable": 0.5})
    fields, basis = scorecards.fields_to_refine(unsure=doubts, confidence=confidence)
    assert fields == doubts and basis["sentiment"]["tier"] == "local", "the unmeasured local tier is assumed better"
    store_card("local", {"sentiment": 0.6, "topic": 0.9, "urgency": 0.5, "team": 0.5, "actionable": 0.5})
    fields, basis = scorecards.fields_to_refine(unsure=doubts, confidence=confidence)
    assert fields == ["topic"]
    assert basis["topic"] == {"tier": "local", "expected": 0.9, "head": 0.6, "better": True}
    assert basis["sentiment"] == {"tier": "local", "expected": 0.6, "head": 0.7, "better": False}
    # An answer is taken only where the tier that answered is expected to beat the heads.
    assert scorecards.better_fields(tier="openai", fields=doubts, confidence=confidence) == ["topic"]
    assert scorecards.better_fields(tier="local", fields=doubts, confidence=confidence) == ["topic"]
    assert scorecards.better_fields(tier="ollama", fields=doubts, confidence=confidence) == doubts  # not configured


def test_a_new_prompt_version_is_unmeasured_again(use_tiers, fault_server):
    use_tiers(("openai", fault_server.url))
    store_card("openai", dict.fromkeys(FIELDS, 0.5), prompt_version="0123456789ab")
    [openai] = tier_configs()
    assert scorecards.expected_accuracy(tier_config=openai) is None
    fields, basis = scorecards.fields_to_refine(unsure=["topic"], confidence={"topic": 0.6})
    assert fields == ["topic"] and basis["topic"]["expected"] == "assumed"


def test_the_overview_shows_each_tiers_scorecard_or_that_it_is_assumed_better(admin_client, use_tiers,
                                                                              fault_server):
    use_tiers(("openai", fault_server.url), ("local", fault_server.url))
    store_card("openai", {"sentiment": 0.874, "topic": 0.65, "urgency": 0.5, "team": 0.71, "actionable": 0.9})
    page = " ".join(admin_client.get("/").content.decode().split())
    table = page[page.index('<table id="scorecards">'):]
    table = table[:table.index("</table>")]
    version = prompts.prompt_version()
    assert (f"<td>openai</td><td>openai-model</td><td>{version}</td>" in table
            and "300 tweets of labelled-v1:300, 0 unanswered" in table)
    assert ('<td class="num">87 %</td><td class="num">65 %</td><td class="num">50 %</td>'
            '<td class="num">71 %</td><td class="num">90 %</td>') in table
    local_row = table[table.index("<td>local</td>"):]
    assert local_row.startswith(f"<td>local</td><td>local-model</td><td>{version}</td>")
    assert "not measured yet: assumed better than the heads" in local_row[:local_row.index("</tr>")]


def test_score_tiers_measures_a_tier_on_the_fixed_sample_and_prints_the_table(use_tiers, fault_server, capsys):
    if not (training_data.shared_data() / training_data.LABELLED_FILE).is_file():
        pytest.skip("../shared/data/labelled_tweets.csv is not beside the project")
    use_tiers(("openai", fault_server.url))
    call_command("score_tiers", "--tier", "openai", "--sample", "4")
    card = TierScorecard.objects.get(id=f"openai:openai-model:{prompts.prompt_version()}")
    assert (card.sample, card.tweets, card.errors) == ("labelled-v1:4", 4, 0) and len(fault_server.requests) == 4
    assert set(card.per_language) == {"en", "fr"}
    printed = capsys.readouterr().out
    assert "measuring openai on 4 tweets" in printed
    row = next(line for line in printed.splitlines() if line.startswith("openai"))
    assert "openai-model" in row and prompts.prompt_version() in row
    assert "sample: labelled-v1:4" in printed
