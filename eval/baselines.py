"""Baselines on the bot's own chunks, index and model: what a tutorial RAG would answer.

Both answer every question with the best chunk's text, verbatim: no threshold, no guard, no
memory, no brand filter. They show what the decision stage, the guards and the hybrid retrieval
add over the obvious first build.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from bot.index.sparse import Bm25Index
from bot.ingest.chunker import index_text
from bot.types import Chunk
from eval.metrics import Record

if TYPE_CHECKING:
    from bot.chain import Kefu


def _record(case: dict, ranked: list[tuple[Chunk, float]], latency_ms: float) -> Record:
    best = ranked[0][0] if ranked else None
    return Record.from_case(
        case,
        outcome="answered",
        answer=best.text if best else "",
        citations=[
            {
                "doc_id": best.doc_id,
                "title": best.title,
                "source": ",".join(best.source),
                "text": best.text,
            }
        ]
        if best
        else [],
        retrieved=[{"doc_id": c.doc_id, "score": s, "text": c.text} for c, s in ranked],
        latency_ms=latency_ms,
        reason="baseline",
    )


class VectorOnlyBaseline:
    """Naive vector RAG: Chroma cosine top-k over the chunks collection, answer = top chunk."""

    name = "vector-only"

    def __init__(self, store, embedder, chunks: Sequence[Chunk], k: int = 5):
        self.store = store
        self.embedder = embedder
        self.by_id = {c.id: c for c in chunks}
        self.k = k

    def answer(self, case: dict) -> Record:
        """Embed, query Chroma, return the top chunk."""
        t0 = time.perf_counter()
        vector = self.embedder.embed_queries([case["question"]])[0]
        found = self.store.query_chunks(vector, self.k)
        ranked = [(self.by_id[i], s) for i, s in found if i in self.by_id]
        return _record(case, ranked, (time.perf_counter() - t0) * 1000)


class Bm25Baseline:
    """Keyword-only RAG: BM25 (jieba words + bigrams) over the same chunks, answer = top chunk."""

    name = "bm25-only"

    def __init__(self, chunks: Sequence[Chunk], k: int = 5):
        self.chunks = list(chunks)
        self.index = Bm25Index([index_text(c) for c in self.chunks])
        self.k = k

    def answer(self, case: dict) -> Record:
        """Score every chunk, return the best (nothing when no word matches)."""
        t0 = time.perf_counter()
        scores = self.index.scores(case["question"])
        order = np.argsort(-scores)[: self.k]
        ranked = [(self.chunks[i], float(scores[i])) for i in order if scores[i] > 0]
        return _record(case, ranked, (time.perf_counter() - t0) * 1000)


def run_baselines(bot: Kefu, cases: Sequence[dict]) -> dict[str, list[Record]]:
    """Both baselines over `cases`, built from the bot's own store, embedder and chunks."""
    retriever = bot.retriever
    k = bot.settings.top_k
    systems = [
        VectorOnlyBaseline(retriever.store, retriever.embedder, retriever.chunks, k),
        Bm25Baseline(retriever.chunks, k),
    ]
    return {s.name: [s.answer(c) for c in cases] for s in systems}
