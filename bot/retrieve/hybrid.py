"""Hybrid retrieval: Chroma cosine + BM25, fused by reciprocal rank; FAQ phrasings matched first."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

import numpy as np

from bot.index.sparse import Bm25Index
from bot.ingest.chunker import index_text
from bot.types import Chunk, Faq, FaqMatch, Hit, Retrieval

SPARSE_DOMINANCE = 1.5
# Only FAQs whose best phrasing is about as close as the best FAQ's vote for their chunks: in a
# small FAQ sheet the eighth-closest phrasing is unrelated, and its vote would push the policy
# text that answers the question out of the top hits.
FAQ_VOTE_MARGIN = 0.04
FAQ_OVER_PASSAGE = 0.02
# How alike (difflib's ratio, punctuation and spaces aside) a question and an FAQ phrasing must
# read for the phrasing to count as the question itself. A cosine cannot say this: e5 puts
# "净化器什么时候该换滤芯" at 0.99 from "净化器滤芯多久换一次比较好", another FAQ's question.
FAQ_VERBATIM = 0.8
_NOISE = re.compile(r"[\s\W_]+")


def wording(question: str, phrasing: str) -> float:
    """How alike two questions read, word for word (0..1), punctuation and spaces aside."""
    a, b = _NOISE.sub("", question.lower()), _NOISE.sub("", phrasing.lower())
    return SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def brand_filter(brand: str | None) -> list[str] | None:
    """A known brand narrows the search to it and to brand-neutral knowledge."""
    return [brand, "general"] if brand and brand != "general" else None


class HybridRetriever:
    """Dense (Chroma) and sparse (BM25) candidates fused with reciprocal rank fusion."""

    def __init__(
        self,
        store,
        embedder,
        chunks: Sequence[Chunk],
        faqs: dict[str, Faq],
        *,
        candidate_k: int = 20,
        rrf_k: int = 60,
    ):
        self.store = store
        self.embedder = embedder
        self.chunks = list(chunks)
        self.by_id = {c.id: c for c in self.chunks}
        self.faq_chunks = {c.faq_id: c for c in self.chunks if c.kind == "faq"}
        self.faqs = faqs
        self.candidate_k = candidate_k
        self.rrf_k = rrf_k
        # FAQ chunks are keyword-indexed with every paraphrase: customers type those words.
        self.bm25 = Bm25Index(
            [
                index_text(c)
                + ("\n" + "\n".join(faqs[c.faq_id].paraphrases) if c.faq_id in faqs else "")
                for c in self.chunks
            ]
        )
        self._brand = np.array([c.brand for c in self.chunks])

    def _sparse(self, query: str, brands: list[str] | None) -> list[tuple[str, float]]:
        scores = self.bm25.scores(query)
        if brands:
            scores = np.where(np.isin(self._brand, brands), scores, 0.0)
        order = np.argsort(-scores)[: self.candidate_k]
        return [(self.chunks[i].id, float(scores[i])) for i in order if scores[i] > 0]

    def _vote(self, fused: dict[str, Hit], chunk: Chunk, rank: int) -> Hit:
        """Add one ranked list's reciprocal-rank vote for `chunk`."""
        hit = fused.setdefault(chunk.id, Hit(chunk, 0.0))
        hit.score += 1.0 / (self.rrf_k + rank + 1)
        return hit

    def retrieve(
        self,
        query: str,
        brand: str | None = None,
        k: int = 5,
        hold_out: str | None = None,
        covers: Callable[[Faq], bool] | None = None,
        prefer: Callable[[list[Hit]], list[Hit]] | None = None,
        fits: Callable[[Faq], int] | None = None,
    ) -> Retrieval:
        """Fused hits for `query`. `hold_out` is an FAQ phrasing, or `faq:<id>` for all of an
        FAQ's phrasings, to leave out of FAQ matching as if nobody had written them: ingest
        fits thresholds on questions the index must not answer from their own wording.
        `covers` says whether an FAQ is about what the query asks (the parts and products it
        names); one that is not can neither match nor vote, however close its wording.
        `prefer` may reorder the ranked candidates before the top `k` are kept; `fits` grades
        an FAQ's answer by the kind of value asked for (answer_type.addresses; best first)."""
        brands = brand_filter(brand)
        qv = self.embedder.embed_queries([query])[0]
        dense = [
            (i, s)
            for i, s in self.store.query_chunks(qv, self.candidate_k, brands)
            if i in self.by_id
        ]
        sparse = self._sparse(query, brands)

        fused: dict[str, Hit] = {}
        for rank, (cid, sim) in enumerate(dense):
            self._vote(fused, self.by_id[cid], rank).dense = sim
        for rank, (cid, bm) in enumerate(sparse):
            self._vote(fused, self.by_id[cid], rank).sparse = bm
        # Rank fusion ignores margins; a keyword match far ahead of the rest ("外包") earns a
        # second vote, since the compressed e5 cosines rarely separate such cases.
        if len(sparse) >= 2 and sparse[0][1] >= SPARSE_DOMINANCE * sparse[1][1]:
            self._vote(fused, self.by_id[sparse[0][0]], 0)
        # A customer's wording often matches an FAQ phrasing better than any policy text:
        # the best-matching FAQs vote for their own (atomic) chunks as a third ranked list.
        top_dense = dense[0][1] if dense else 0.0
        candidates: list[FaqMatch] = []  # best phrasing per FAQ, close to the best FAQ's
        faq_rank: list[str] = []
        for faq_id, phrasing, sim in self.store.query_questions(qv, 8, brands):
            if faq_id not in self.faqs or hold_out in (phrasing, f"faq:{faq_id}"):
                continue
            if covers is not None and not covers(self.faqs[faq_id]):
                continue
            if candidates and sim < candidates[0].score - FAQ_VOTE_MARGIN:
                break  # results come best first
            if all(c.faq.id != faq_id for c in candidates):
                candidates.append(FaqMatch(self.faqs[faq_id], sim, phrasing))
            if sim >= top_dense + FAQ_OVER_PASSAGE and faq_id not in faq_rank:
                faq_rank.append(faq_id)
        for rank, faq_id in enumerate(faq_rank):
            if faq_id in self.faq_chunks:
                self._vote(fused, self.faq_chunks[faq_id], rank)
        ranked = sorted(fused.values(), key=lambda h: (-h.score, -h.dense))
        hits = (prefer(ranked) if prefer is not None else ranked)[:k]
        for c in candidates:
            # Word for word against every phrasing the FAQ has, not only the one closest in
            # meaning: "X手机保修多久" reads 0.8 like "X 修手机要多久?" (another FAQ's closest
            # phrasing) but 0.9 like "X 手机整机保修多久?", second in meaning.
            c.wording = max(wording(query, p) for p in (c.faq.question, *c.faq.paraphrases))
            c.verbatim = c.wording >= FAQ_VERBATIM
        # FAQs are ranked as fused retrieval placed them: `prefer` judges passages.
        faq_match = _best_ranked(candidates, ranked[:k], fits)
        agreed = bool(dense and sparse and dense[0][0] == sparse[0][0])
        return Retrieval(
            query=query,
            brand=brand,
            hits=hits,
            faq_match=faq_match,
            top_dense=top_dense,
            agreed=agreed,
            vector=qv,
        )


def _best_ranked(
    candidates: list[FaqMatch], hits: list[Hit], fits: Callable[[Faq], int] | None
) -> FaqMatch | None:
    """Of the FAQs whose phrasings are about as close as the closest: the one the customer
    typed word for word, else the one fused retrieval ranks highest among those whose answer
    gives the kind of value asked for. "洗衣机保修期多久" is closest in wording to an FAQ of
    the same shape ("…多久?") about another subject; fused retrieval ranks the FAQ on 保修期
    first."""
    for c in candidates:
        c.rank = next((i for i, h in enumerate(hits) if h.chunk.faq_id == c.faq.id), None)
    # "洗衣机保修多久" reads like "洗衣机修一次要多久" too: the closest wording wins.
    verbatim = sorted((c for c in candidates if c.verbatim), key=lambda c: -c.wording)
    if verbatim:
        return verbatim[0]
    placed = sorted((c for c in candidates if c.rank is not None), key=lambda c: c.rank)
    if fits is not None:
        placed.sort(key=lambda c: -fits(c.faq))  # stable: fused rank within each grade
    if placed:
        return placed[0]
    return candidates[0] if candidates else None
