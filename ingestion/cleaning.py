"""Cleaning rules: pure functions on pandas Series (pandas + regex), easy to test alone.

The original text is never modified: these build the text the model reads, the marks
(retweet) and the fingerprints used to find duplicates.
"""

from __future__ import annotations

import hashlib
import html
import re

import pandas as pd
import py3langid

from dallosh.vocabulary import LANGUAGES, UNKNOWN_LANGUAGE

URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
MENTION = re.compile(r"(?<![\w@])@\w{1,30}")
HASHTAG_SIGN = re.compile(r"(?<![\w#])#(?=\w)")
HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
EMOJI = re.compile(
    "["
    "\U0001f000-\U0001faff"  # pictographs, emoticons, transport, symbols & pictographs ext.
    "\U0001f1e6-\U0001f1ff"  # regional indicators (flags)
    "\u2600-\u27bf"  # misc symbols, dingbats
    "\u2300-\u23ff\u2b00-\u2bff\u2190-\u21ff"  # technical, arrows
    "\u2900-\u297f"  # supplemental arrows (⤵)
    "\ufe0e\ufe0f\u200d\u20e3"  # variation selectors, joiner, keycap
    "\U000e0020-\U000e007f"  # tag characters
    "]+"
)
WHITESPACE = re.compile(r"\s+")
# Retweets: "RT @user: ..." (twcs) or "rt : ..." (French feed, mentions already removed).
RETWEET = re.compile(r"^\s*rt\b\s*(?:@\w+\s*)?:", re.IGNORECASE)
# The French feed turned each line break into a literal "n" glued to its neighbours:
#   "recommandé !nvous", "(95).nme", "[nouveau]nabonnés", "…nnfree", "utilisateursn internet".
STRAY_N_AFTER_PUNCT = re.compile(r"(?<=[.!?…:;)\]»\"\u2122\u00a9\ufe0f\u2935\u2934])n+(?=[\w\s]|$)")
STRAY_N_WORD_START = re.compile(r"(?<![\w'’])nn+(?=[a-zà-ÿ])")
STRAY_N_AFTER_S = re.compile(r"(?<=[a-zà-ÿ]s)n(?=\s|$)")
NOT_WORD = re.compile(r"[\W_]+")

MIN_LETTERS_FOR_LANGUAGE = 3
py3langid.set_languages(list(LANGUAGES))


def repair_stray_newlines(text: pd.Series) -> pd.Series:
    """Turn the French feed's stray "n" (a lost line break) back into a space."""
    text = text.str.replace(STRAY_N_AFTER_PUNCT, " ", regex=True)
    text = text.str.replace(STRAY_N_WORD_START, " ", regex=True)
    return text.str.replace(STRAY_N_AFTER_S, "", regex=True)


def unescape_html(text: pd.Series) -> pd.Series:
    """`&amp;` → `&` (and every other HTML entity), only where an entity is present."""
    has_entity = text.str.contains("&", regex=False)
    if not has_entity.any():
        return text
    text = text.copy()
    text[has_entity] = text[has_entity].map(html.unescape)
    return text


def for_display(text: pd.Series, *, stray_newline_n: bool = False) -> pd.Series:
    """The text as its author wrote it, for people: HTML entities decoded once (`&amp;` → `&`)
    and the French feed's lost line breaks restored; links, mentions and emojis kept. The
    raw text stays on the tweet (and its raw row) for audit."""
    text = unescape_html(text.fillna("").astype(str))
    return repair_stray_newlines(text) if stray_newline_n else text


def clean_for_model(text: pd.Series, *, stray_newline_n: bool = False) -> pd.Series:
    """The text the model reads: no URLs, mentions, emojis or entities; spaces normalised.

    Case is kept: "WORST SERVICE EVER" tells the model something "worst service ever" does
    not. Duplicate detection ignores case itself (near_duplicate_key).
    """
    text = text.fillna("").astype(str)
    text = unescape_html(text)
    text = text.str.replace(RETWEET, " ", regex=True)
    if stray_newline_n:
        text = repair_stray_newlines(text)
    text = text.str.replace(URL, " ", regex=True)
    text = text.str.replace(MENTION, " ", regex=True)
    text = text.str.replace(HASHTAG_SIGN, "", regex=True)
    text = text.str.replace(EMOJI, " ", regex=True)
    return text.str.replace(WHITESPACE, " ", regex=True).str.strip()


def mark_retweets(original: pd.Series) -> pd.Series:
    return original.fillna("").str.contains(RETWEET, regex=True)


def near_duplicate_key(clean: pd.Series) -> pd.Series:
    """Clean text without case, punctuation or spacing: equal keys mean near-exact duplicates."""
    return clean.str.casefold().str.replace(NOT_WORD, "", regex=True)


def fingerprints(clean: pd.Series, authors: pd.Series, *, global_min_chars: int) -> pd.Series:
    """Duplicate fingerprint per tweet.

    A long text is compared across all authors (copy-paste campaigns, bots); a short one
    ("thanks!", "still down") only within one author's tweets, since two customers writing
    the same two words are two requests, not one.
    """
    key = near_duplicate_key(clean)
    scoped = key.where(compared_across_authors(clean, global_min_chars=global_min_chars),
                       authors.str.casefold() + "\x1f" + key)
    return scoped.map(_digest)


def compared_across_authors(clean: pd.Series, *, global_min_chars: int) -> pd.Series:
    """Whether each text is long enough to be a duplicate of anyone's (else only its author's)."""
    return near_duplicate_key(clean).str.len() >= global_min_chars


def exact_hashes(original: pd.Series) -> pd.Series:
    return original.fillna("").map(_digest)


def detect_languages(clean: pd.Series) -> pd.Series:
    """ISO 639-1 code per text (fr, en, ...), or "und" for texts with too few letters."""
    letters = clean.str.count(r"[^\W\d_]")
    return pd.Series(
        [py3langid.classify(t)[0] if n >= MIN_LETTERS_FOR_LANGUAGE else UNKNOWN_LANGUAGE
         for t, n in zip(clean, letters)],
        index=clean.index,
        dtype=object,
    )


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode("utf-8"), digest_size=12).hexdigest()
