"""Query embedding under concurrency: an LRU cache and a micro-batcher.

A web server asks for one query vector per request, from many threads at once. Run there, each
forward pass competes with the others for the same cores; the micro-batcher instead hands the
queries that arrive within a few milliseconds of each other to one worker thread, which embeds
them in one call while the request threads wait (outside the GIL's way: the encoder releases it).
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

Encode = Callable[[list[str]], np.ndarray]


def normalize_query(text: str) -> str:
    """The form a query is embedded and cached in: NFKC, runs of whitespace as one space."""
    # NFKC matches what the XLM-R tokenizer's normaliser does anyway (full-width "ＡＢＣ" is
    # "ABC" to it); collapsing whitespace folds "保修  政策 " into "保修 政策".
    return " ".join(unicodedata.normalize("NFKC", text).split())


class QueryCache:
    """A bounded, thread-safe LRU of query vectors; counts hits and misses."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> np.ndarray | None:
        if self.size == 0:
            self.misses += 1
            return None
        with self._lock:
            vec = self._data.get(key)
            if vec is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return vec

    def put(self, key: str, vec: np.ndarray) -> None:
        if self.size == 0:
            return
        vec = vec.copy()
        vec.setflags(write=False)  # shared between requests: nobody may change it in place
        with self._lock:
            self._data[key] = vec
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class MicroBatcher:
    """Embeds concurrent callers' texts together: waits up to `window_s` after the first text
    for up to `max_batch` texts, then makes one `encode` call in a worker thread."""

    def __init__(self, encode: Encode, *, window_s: float = 0.003, max_batch: int = 16) -> None:
        if window_s < 0 or max_batch < 1:
            raise ValueError("window_s must be >= 0 and max_batch >= 1")
        self._encode = encode
        self.window_s = window_s
        self.max_batch = max_batch
        self._pending: list[tuple[str, Future]] = []
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None
        self.batches = 0
        self.texts = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, embedded along with whatever other threads asked meanwhile."""
        futures = [self._submit(t) for t in texts]
        return np.vstack([f.result() for f in futures])

    def _submit(self, text: str) -> Future:
        future: Future = Future()
        with self._cond:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._loop, name="kefu-embed-batcher", daemon=True
                )
                self._worker.start()
            self._pending.append((text, future))
            self._cond.notify()
        return future

    def _take(self) -> list[tuple[str, Future]]:
        with self._cond:
            while not self._pending:
                self._cond.wait()
            deadline = time.monotonic() + self.window_s
            while len(self._pending) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, self._pending = (
                self._pending[: self.max_batch],
                self._pending[self.max_batch :],
            )
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            # The same text asked twice in one window is embedded once.
            unique = list(dict.fromkeys(text for text, _ in batch))
            try:
                vectors = self._encode(unique)
            except BaseException as exc:  # handed to every waiter; the worker keeps serving
                for _, future in batch:
                    future.set_exception(exc)
                continue
            row = {text: i for i, text in enumerate(unique)}
            for text, future in batch:
                future.set_result(vectors[row[text]])
            self.batches += 1
            self.texts += len(unique)

    @property
    def mean_batch(self) -> float:
        return self.texts / self.batches if self.batches else 0.0
