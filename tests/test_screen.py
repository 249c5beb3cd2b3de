"""The attack screen: a nearest-neighbour comparison, with its exemplar vectors cached."""

from __future__ import annotations

import numpy as np

from bot.guard.screen import AttackScreen, load_screen


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_a_query_nearer_the_attacks_than_the_questions_is_flagged():
    hostile = np.stack([_unit([1, 0, 0.1 * i]) for i in range(4)])
    benign = np.stack([_unit([0, 1, 0.1 * i]) for i in range(4)])
    screen = AttackScreen(hostile, benign, margin=0.04)
    assert screen.flags(_unit([1, 0.05, 0]))
    assert not screen.flags(_unit([0.05, 1, 0]))
    assert not screen.flags(_unit([1, 1, 0]))  # as close to both: not an attack
    assert not screen.flags(None)  # no vector (nothing retrieved): nothing to judge


class CountingEmbedder:
    """The hashing fake, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.fingerprint = "counting:" + inner.fingerprint

    def embed_queries(self, texts):
        self.calls += len(texts)
        return self.inner.embed_queries(texts)


def test_exemplar_vectors_are_embedded_once_and_then_read_from_the_cache(tmp_path, hash_embedder):
    emb = CountingEmbedder(hash_embedder)
    faq = np.asarray(hash_embedder.embed_queries(["保修多久", "热线电话"]))
    first = load_screen(emb, faq, tmp_path, 0.04)
    embedded = emb.calls
    assert embedded >= 300 and list(tmp_path.glob("screen-*.npy"))
    second = load_screen(emb, faq, tmp_path, 0.04)
    assert emb.calls == embedded  # read back, not embedded again
    assert np.array_equal(first.hostile, second.hostile)
    assert second.benign.shape[0] == first.benign.shape[0]  # the FAQ phrasings included


def test_a_torn_cache_file_is_embedded_again(tmp_path, hash_embedder):
    emb = CountingEmbedder(hash_embedder)
    load_screen(emb, np.zeros((0, 1)), tmp_path, 0.04)
    (cache,) = tmp_path.glob("screen-*.npy")
    cache.write_bytes(b"\x93NUMPY torn")
    before = emb.calls
    screen = load_screen(emb, np.zeros((0, 1)), tmp_path, 0.04)
    assert emb.calls > before and screen.hostile.shape[0] > 0
