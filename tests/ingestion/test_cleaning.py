"""Cleaning rules, on plain pandas Series."""

import pandas as pd
import pytest

from ingestion import cleaning

pytestmark = pytest.mark.no_servers


def clean(*texts, **kwargs):
    return cleaning.clean_for_model(pd.Series(texts), **kwargs).tolist()


def test_urls_mentions_emojis_and_entities_are_stripped_and_case_kept():
    assert clean("@sprintcare You gonna FIX my line ? 🤥 💯 https://t.co/8u1Pf5rJoN &amp; #fail") == [
        "You gonna FIX my line ? & fail"  # capitals are a feeling the model should see
    ]


def test_stray_n_of_the_french_feed_is_repaired_only_where_asked():
    texts = ["encore des travaux.nla freebox", "[nouveau]nabonnés freebox pop", "nnen 3 ans",
             "les utilisateursn internet", "la fibre ?n c’est la misère", "non, nous n'avons rien"]
    assert clean(*texts, stray_newline_n=True) == [
        "encore des travaux. la freebox", "[nouveau] abonnés freebox pop", "en 3 ans", "les utilisateurs internet",
        "la fibre ? c’est la misère", "non, nous n'avons rien",
    ]
    assert clean("encore des travaux.nla freebox") == ["encore des travaux.nla freebox"]


def test_retweets_are_marked_in_both_spellings():
    marks = cleaning.mark_retweets(pd.Series(["RT @AppleSupport: hello", "rt : retrouvez désormais", "I support rt"]))
    assert marks.tolist() == [True, True, False]


def test_languages_are_detected():
    texts = pd.Series(["ma box ne marche plus depuis ce matin, aucun débit", "my phone has no signal since yesterday",
                       "ok"])
    assert cleaning.detect_languages(cleaning.clean_for_model(texts)).tolist() == ["fr", "en", "und"]


def test_fingerprints_compare_short_texts_within_one_author_and_long_ones_across_authors():
    clean_texts = cleaning.clean_for_model(pd.Series([
        "@a Thanks!", "@b thanks", "thanks!!",
        "My internet has been down for three days and nobody answers",
        "my internet has been DOWN for three days, and nobody answers!",
    ]))
    authors = pd.Series(["u1", "u1", "u2", "u3", "u4"])
    fp = cleaning.fingerprints(clean_texts, authors, global_min_chars=40).tolist()
    assert fp[0] == fp[1]  # same author, same words
    assert fp[2] != fp[0]  # another customer saying thanks is another request
    assert fp[3] == fp[4]  # a long text repeated by someone else is a duplicate
