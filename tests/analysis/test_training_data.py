"""What the fast tier's heads learn from beside the install's tickets (analysis/training_data.py):
the shared data files, cleaned as the pipeline cleans tweets; customer tweets only, one of each
near-duplicate, English and French alternating; a fixed evaluation slice no training sees; and
the team's shipped requests. Small files written here stand for ../shared/data."""

from __future__ import annotations

import json

import pytest

from analysis import training_data
from analysis.classifier import Example
from dallosh import vocabulary
from tests.helpers import FR_HEADER, twcs_csv, twcs_row

pytestmark = pytest.mark.no_servers

LABELLED_HEADER = "source,tweet_id,language,text,sentiment,topic,urgency,team,actionable\n"


def shape(example: Example) -> tuple:
    return example.id, example.text, example.labels, example.language, example.source


def test_the_human_sentiment_labels_are_cleaned_as_tweets_are_and_empty_ones_dropped(tmp_path):
    (tmp_path / "dev_sentiment_en.csv").write_text(
        "text,sentiment\n@AmericanAir Thank you https://t.co/abc,positive\n@united   worst  #flight,negative\n"
        "@delta,neutral\n", encoding="utf-8")
    (tmp_path / "dev_sentiment_fr.csv").write_text("text,sentiment\n@free merci pour la fibre,positive\n",
                                                   encoding="utf-8")
    assert [shape(e) for e in training_data.dev_examples(tmp_path)] == [
        ("dev-en:0", "Thank you", {"sentiment": "positive"}, "en", "dev"),
        ("dev-en:1", "worst flight", {"sentiment": "negative"}, "en", "dev"),
        ("dev-fr:0", "merci pour la fibre", {"sentiment": "positive"}, "fr", "dev")]


@pytest.fixture
def shared(tmp_path):
    (tmp_path / "twcs_sample.csv").write_text(twcs_csv(
        twcs_row(0, 1, "c1", "True", "@sprintcare my fibre is down since monday"),
        twcs_row(1, 2, "sprintcare", "False", "@c1 sorry to hear that, please DM us"),  # the brand's answer
        twcs_row(2, 3, "c2", "True", "where is my bill for march"),
        twcs_row(3, 4, "c3", "True", "RT @c1: my fibre is down since monday"),  # a retweet
        twcs_row(4, 5, "c4", "True", "Where is my BILL for March!"),  # a near-duplicate of c2's
        twcs_row(5, 6, "c5", "True", "no 4G signal at home tonight"),
        twcs_row(6, 7, "c6", "True", "thanks!!")), encoding="utf-8")  # too short to tell apart
    (tmp_path / "free_tweets_fr.csv").write_text(
        FR_HEADER + "101,client1,ma box est en panne depuis hier,2024-01-02,u\n"
        "102,Free,Bonjour, nous regardons votre souci en privé,2024-01-02,u\n"
        '103,client2,"plus de réseau à Lyon depuis ce matin",2024-01-02,u\n'
        "104,client3,RT @client1: ma box est en panne depuis hier,2024-01-02,u\n", encoding="utf-8")
    return tmp_path


def test_only_distinct_customer_tweets_are_kept_alternating_english_and_french(shared):
    tweets = training_data.customer_tweets(shared)
    assert [t["language"] for t in tweets] == ["en", "fr", "en", "fr", "en"]
    assert {(t["source"], t["tweet_id"], t["text"]) for t in tweets} == {
        ("twcs", "1", "my fibre is down since monday"), ("twcs", "3", "where is my bill for march"),
        ("twcs", "6", "no 4G signal at home tonight"), ("free_fr", "101", "ma box est en panne depuis hier"),
        ("free_fr", "103", "plus de réseau à Lyon depuis ce matin")}
    assert training_data.customer_tweets(shared) == tweets, "the same order on every run"


def test_the_teachers_labels_are_joined_to_the_shared_texts(shared, tmp_path):
    labels = {"sentiment": "negative", "topic": "network", "urgency": "high", "team": "tech", "actionable": "true"}
    file = tmp_path / "teacher_labels.jsonl"
    file.write_text("\n".join(json.dumps({"source": source, "tweet_id": tweet_id, "labels": labels})
                              for source, tweet_id in (("free_fr", "101"), ("twcs", "999"))), encoding="utf-8")
    [example] = training_data.teacher_examples(shared, labels_file=file)
    assert (example.id, example.text, example.labels, example.source) == (
        "free_fr:101", "ma box est en panne depuis hier", labels, "teacher")
    assert training_data.teacher_examples(shared, labels_file=tmp_path / "absent.jsonl") == []


def write_labelled(folder, per_language: int = 100) -> None:
    rows = [f"twcs,{n},en,@brand my bill number {n} is wrong,Negative , billing,medium,billing,TRUE\n"
            for n in range(per_language)]
    rows += [f"free_fr,{n},fr,ma facture numéro {n} est fausse,negative,billing,medium,billing,true\n"
             for n in range(per_language)]
    rows.append("twcs,empty,en,@brand,neutral,other,low,commercial,false\n")  # nothing left once cleaned
    (folder / "labelled_tweets.csv").write_text(LABELLED_HEADER + "".join(rows), encoding="utf-8")


def test_the_evaluation_slice_is_stable_about_15_percent_and_never_trained_on(tmp_path):
    shares = [training_data.in_evaluation_slice(f"twcs:{n}") for n in range(20_000)]
    assert 0.14 < sum(shares) / len(shares) < 0.16
    assert shares == [training_data.in_evaluation_slice(f"twcs:{n}") for n in range(20_000)]
    write_labelled(tmp_path)
    training = training_data.labelled_examples(tmp_path)
    held = training_data.labelled_examples(tmp_path, evaluation=True)
    assert not {e.id for e in training} & {e.id for e in held}
    assert len(training) + len(held) == 200 and held
    assert all(training_data.in_evaluation_slice(e.id) for e in held)
    english = next(e for e in training if e.language == "en")
    assert english.text.startswith("my bill number") and english.labels == {
        "sentiment": "negative", "topic": "billing", "urgency": "medium", "team": "billing", "actionable": "true"}


def test_the_scorecard_sample_is_half_english_half_french_from_the_slice_in_a_stable_order(tmp_path):
    write_labelled(tmp_path)
    sample = training_data.scorecard_sample(tmp_path, size=6)
    assert [e.language for e in sample] == ["en", "en", "en", "fr", "fr", "fr"]
    assert all(training_data.in_evaluation_slice(e.id) for e in sample)
    assert [e.id for e in training_data.scorecard_sample(tmp_path, size=6)] == [e.id for e in sample]


def test_without_shared_data_only_the_teams_shipped_requests_remain(tmp_path, settings):
    settings.DALLOSH_SITE = settings.DALLOSH_SITE.replace(shared_data=tmp_path)
    assert training_data.shared_data() == tmp_path
    assert (training_data.dev_examples(), training_data.labelled_examples(), training_data.customer_tweets()) == (
        [], [], [])
    team = training_data.team_examples()
    assert {e.language for e in team} == {"en", "fr"} and all(e.source == "team" for e in team)
    for example in team:
        assert set(example.labels) == set(vocabulary.LABEL_FIELDS)
        assert all(example.labels[f] in vocabulary.VOCABULARY[f] for f in vocabulary.VOCABULARY)
        assert example.labels["actionable"] in ("true", "false")


@pytest.mark.parametrize(("example", "language"), [
    (Example(id="dev-fr:3", text="t", labels={}), "fr"), (Example(id="free_fr:9", text="t", labels={}), "fr"),
    (Example(id="twcs:9", text="t", labels={}), "en"), (Example(id="twcs:9", text="t", labels={}, language="fr"), "fr"),
])
def test_an_examples_language_is_its_own_else_its_sources(example, language):
    assert training_data.language_of(example) == language
