"""The faster query encoder (ONNX Runtime), the query cache and the micro-batcher."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from bot.embed import HashEmbedder, SentenceTransformerEmbedder
from bot.embed import onnx_encoder as onnx
from bot.embed.batching import MicroBatcher, QueryCache, normalize_query
from bot.embed.provision import E5_SMALL, ModelProvisionError, default_cache_dir, ensure_model

ROOT = Path(__file__).resolve().parents[1]


def _quiet(_message: str) -> None:
    """Swallow progress lines in tests."""


def _concurrently(fn, args: list, threads: int = 8) -> list:
    """Call `fn(arg)` for every arg from `threads` threads released together; results in order."""
    out: list = [None] * len(args)
    start = threading.Barrier(threads)

    def work(k: int) -> None:
        start.wait()
        for i in range(k, len(args), threads):
            out[i] = fn(args[i])

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return out


QUESTIONS = ["手机屏幕碎了保修吗", "售后电话多少", "浴霸不热了", "电池能免费换吗", "How to reset?"]


# ------------------------------------------------------------------ cache (fast)


def test_cache_returns_the_vector_it_was_given_and_counts_hits() -> None:
    cache = QueryCache(4)
    vec = HashEmbedder().embed_queries(["保修"])[0]
    assert cache.get("q") is None
    cache.put("q", vec)
    got = cache.get("q")
    np.testing.assert_array_equal(got, vec)
    assert (cache.hits, cache.misses, cache.hit_rate) == (1, 1, 0.5)
    with pytest.raises(ValueError):
        got[0] = 1.0  # shared between requests: read-only


def test_cache_is_bounded_and_evicts_the_least_recently_used() -> None:
    cache = QueryCache(2)
    one = np.ones(3, np.float32)
    cache.put("a", one)
    cache.put("b", one)
    cache.get("a")  # "b" is now the oldest
    cache.put("c", one)
    assert len(cache) == 2
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None


def test_cache_of_size_zero_keeps_nothing() -> None:
    cache = QueryCache(0)
    cache.put("a", np.ones(3, np.float32))
    assert cache.get("a") is None and len(cache) == 0


def test_normalised_query_folds_width_and_spaces_only() -> None:
    assert normalize_query("  ＯＰＰＯ  售后\t电话 ") == "OPPO 售后 电话"
    assert normalize_query("Reset") != normalize_query("reset")  # e5 is cased


# ------------------------------------------------------------ micro-batcher (fast)


def test_micro_batched_concurrent_calls_return_what_single_calls_return() -> None:
    fake = HashEmbedder()
    sizes: list[int] = []

    def encode(texts: list[str]) -> np.ndarray:
        sizes.append(len(texts))
        return fake.embed_queries(texts)

    batcher = MicroBatcher(encode, window_s=0.05, max_batch=4)
    texts = [f"{q} {i}" for i in range(6) for q in QUESTIONS]
    got = _concurrently(lambda t: batcher.encode([t])[0], texts)
    for text, vec in zip(texts, got, strict=True):
        np.testing.assert_array_equal(vec, fake.embed_queries([text])[0])
    assert max(sizes) <= 4
    assert max(sizes) > 1, "concurrent queries were never embedded together"
    assert batcher.texts == len(texts)


def test_micro_batcher_hands_an_encoder_error_to_its_callers_and_keeps_serving() -> None:
    calls = {"n": 0}

    def flaky(texts: list[str]) -> np.ndarray:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("encoder failed")
        return HashEmbedder().embed_queries(texts)

    batcher = MicroBatcher(flaky, window_s=0.0, max_batch=8)
    with pytest.raises(RuntimeError, match="encoder failed"):
        batcher.encode(["a"])
    assert batcher.encode(["b"]).shape == (1, 256)


# -------------------------------------------------- backend choice and fallback (fast)


def _record(folder: Path, cache_dir: Path, variants: dict, torch_ms: float = 30.0) -> None:
    target = onnx.onnx_dir(folder, cache_dir)
    target.mkdir(parents=True)
    info = {"build_version": onnx.BUILD_VERSION, "variants": variants, "torch_ms": torch_ms}
    (target / onnx.ONNX_MARKER).write_text(json.dumps(info))


def test_a_failed_agreement_check_leaves_torch_as_the_automatic_choice(tmp_path: Path) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    _record(
        model,
        tmp_path,
        {"onnx-int8": {"verified": False, "ms_per_query": 5.0, "min_cosine": 0.95}},
    )
    lines: list[str] = []
    auto = SentenceTransformerEmbedder(str(model), tmp_path, backend="auto", log=lines.append)
    assert auto.backend == "torch"
    explicit = SentenceTransformerEmbedder(str(model), tmp_path, backend="onnx-int8", log=_quiet)
    with pytest.raises(ModelProvisionError, match="agreement check"):
        _ = explicit.backend


def test_auto_takes_the_fastest_close_enough_backend_and_the_fingerprint_names_it(
    tmp_path: Path,
) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    _record(
        model,
        tmp_path,
        {
            "onnx-fp32": {
                "verified": True,
                "ms_per_query": 12.0,
                "min_cosine": 1.0,
                "sha256": "a" * 64,
            },
            # Faster and past the 0.99 gate, but not close enough to be chosen unasked.
            "onnx-int8": {
                "verified": True,
                "ms_per_query": 6.0,
                "min_cosine": 0.994,
                "sha256": "b" * 64,
            },
        },
    )
    auto = SentenceTransformerEmbedder(str(model), tmp_path, backend="auto", log=_quiet)
    torch = SentenceTransformerEmbedder(str(model), tmp_path, backend="torch", log=_quiet)
    int8 = SentenceTransformerEmbedder(str(model), tmp_path, backend="onnx-int8", log=_quiet)
    assert auto.backend == "onnx-fp32" and torch.backend == "torch"
    assert int8.backend == "onnx-int8"
    # An index embedded by one encoder is stale for another.
    assert auto.fingerprint != torch.fingerprint


def test_no_build_means_torch_and_a_hint_to_provision(tmp_path: Path) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    lines: list[str] = []
    emb = SentenceTransformerEmbedder(str(model), tmp_path, backend="auto", log=lines.append)
    assert emb.backend == "torch"
    assert any("bot provision" in line for line in lines)


def test_a_failed_export_is_recorded_and_torch_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "my-model"
    model.mkdir()

    def broken(*_args, **_kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(onnx, "_build", broken)
    lines: list[str] = []
    info = onnx.ensure_onnx(model, tmp_path, log=lines.append)
    assert onnx.fastest(info) == "torch" and "exporter exploded" in info["error"]
    assert any("torch will be used" in line for line in lines)
    assert not list(onnx.onnx_dir(model, tmp_path).glob("*.onnx"))


# ------------------------------------------------------------------ the real model


@pytest.fixture(scope="module")
def e5_folder() -> Path:
    return Path(ensure_model(E5_SMALL, default_cache_dir(), allow_hub=False))


@pytest.fixture(scope="module")
def onnx_build(e5_folder: Path) -> dict:
    """The provisioned ONNX build (made here if `python -m bot provision` has not run)."""
    return onnx.ensure_onnx(e5_folder, default_cache_dir(), log=_quiet)


@pytest.mark.slow
def test_int8_encoder_agrees_with_torch_on_fixed_sentences(e5_folder: Path, onnx_build) -> None:
    from bot.embed.provision import load_sentence_transformer

    int8 = onnx.verified(onnx_build).get("onnx-int8")
    assert int8, f"int8 build did not pass its check: {onnx_build['variants']}"
    encoder = onnx.OnnxEncoder(
        onnx.onnx_dir(e5_folder, default_cache_dir()) / int8["file"],
        e5_folder / "tokenizer.json",
        exact=True,
    )
    report = onnx.agreement(
        onnx._Torch(load_sentence_transformer(e5_folder)), encoder, "query: ", "passage: "
    )
    assert report["min_cosine"] >= 0.99 and report["verified"], report


@pytest.mark.slow
def test_int8_finds_the_same_closest_passage_as_torch_on_sample_questions(onnx_build) -> None:
    from bot.ingest.chunker import index_text
    from bot.ingest.loader import load_corpus
    from bot.settings import Settings

    settings = Settings(knowledge_dir=ROOT / "knowledge")
    corpus = load_corpus(settings.knowledge_dir)
    from bot.ingest.chunker import chunk_corpus

    chunks, _ = chunk_corpus(corpus, settings.chunk_max_tokens, settings.tiktoken_encoding)
    passages = [index_text(c) for c in chunks]
    questions = [
        json.loads(x)["question"]
        for x in (ROOT / "eval" / "retrieval_50.jsonl").read_text("utf-8").splitlines()
    ]
    scores = {}
    for backend in ("torch", "onnx-int8"):
        emb = SentenceTransformerEmbedder(E5_SMALL, default_cache_dir(), backend=backend)
        scores[backend] = emb.embed_queries(questions) @ emb.embed_passages(passages).T
    ref = scores["torch"]
    top2 = np.sort(ref, axis=1)[:, -2:]
    decided = top2[:, 1] - top2[:, 0] >= onnx.TIE_MARGIN  # a near-tie is either passage
    same = ref.argmax(1) == scores["onnx-int8"].argmax(1)
    assert same[decided].all(), [
        q for q, ok in zip(questions, same | ~decided, strict=True) if not ok
    ]
    print(
        f"{int(decided.sum())}/{len(questions)} questions decided by torch (margin >= {onnx.TIE_MARGIN})"
    )
    assert decided.any()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx-int8", "onnx-fp32"])
def test_micro_batched_and_cached_queries_match_single_calls(onnx_build, backend: str) -> None:
    single = SentenceTransformerEmbedder(E5_SMALL, default_cache_dir(), backend=backend)
    served = SentenceTransformerEmbedder(
        E5_SMALL,
        default_cache_dir(),
        backend=backend,
        query_cache_size=64,
        batch_window_ms=20,
        max_batch=8,
    )
    texts = [f"{q}{i}" for i in range(4) for q in QUESTIONS]
    expected = np.vstack([single.embed_queries([t])[0] for t in texts])
    got = np.vstack(_concurrently(lambda t: served.embed_queries([t])[0], texts))
    if backend == "onnx-int8":
        # One text per run (see OnnxEncoder): bit for bit what a lone question gets.
        np.testing.assert_array_equal(got, expected)
    else:
        # A padded fp32 batch differs from single runs only by float rounding.
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    assert served.batcher is not None and served.batcher.mean_batch > 1
    # Asked again: from the cache, the very vectors it gave the first time.
    np.testing.assert_array_equal(served.embed_queries(texts), got)
    assert served.stats()["cache_hits"] >= len(texts)
