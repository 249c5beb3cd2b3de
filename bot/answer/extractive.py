"""The default, offline answerer: vetted FAQ answers, or the most relevant sentences, cited."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.guard.numbers import number_tokens
from bot.index.sparse import tokenize
from bot.ingest.chunker import split_sentences
from bot.messages import say
from bot.types import Chunk, Citation, Faq, Hit

MAX_SENTENCES = 3
SHORT_CHUNK_CHARS = 160
MIN_NEW_TERMS = 2  # query terms a supplementary sentence must add (words or character bigrams)


@dataclass
class Draft:
    """An answer before the output guard: text and the chunks it quotes."""

    text: str
    citations: list[Citation]


def citation(chunk: Chunk) -> Citation:
    return Citation(
        doc_id=chunk.doc_id,
        title=chunk.title,
        source=",".join(chunk.source),
        text=chunk.text,
        locator=chunk.locator,
    )


def best_sentences(
    query: str, text: str, limit: int = MAX_SENTENCES, force: bool = False
) -> list[str]:
    """The sentences sharing most query terms, in their original order."""
    sentences = split_sentences(text)
    if not force and (len(text) <= SHORT_CHUNK_CHARS or len(sentences) <= limit):
        return sentences
    q = set(tokenize(query))
    scored = []
    for i, s in enumerate(sentences):
        toks = tokenize(s)
        overlap = len(q.intersection(toks))
        scored.append((overlap / math.sqrt(len(toks) + 1), -i, i))
    picked = sorted(i for _, _, i in sorted(scored, reverse=True)[:limit])
    if all(scored[i][0] == 0 for i in picked):
        picked = list(range(limit))
    return [sentences[i] for i in picked]


class ExtractiveAnswerer:
    """Quotes the knowledge base; never writes a sentence of its own that states a fact."""

    def from_faq(self, faq: Faq, chunk: Chunk | None, title: str, lang: str) -> Draft:
        cite = Citation(
            doc_id=faq.doc,
            title=title,
            source=",".join(faq.source),
            text=chunk.text if chunk else faq.answer,
        )
        return Draft(say("from_faq", lang, body=faq.answer), [cite])

    def from_hits(self, query: str, hits: list[Hit], lang: str) -> Draft:
        top = hits[0].chunk
        body = top.text if top.kind == "faq" else "".join(best_sentences(query, top.text)).strip()
        # The source goes in the citation list, not in the prose (except to say, in English,
        # what the Chinese text is).
        return Draft(say("from_passage", lang, body=body, title=top.title), [citation(top)])

    def supplement(self, query: str, draft: Draft, hits: list[Hit], lang: str) -> Draft:
        """Append the top policy chunk's best sentence when it covers query terms the draft lacks."""
        if not draft.citations or not hits:
            return draft
        doc_hit = next((h for h in hits[:3] if h.chunk.kind == "doc"), None)
        if doc_hit is None or doc_hit.chunk.doc_id not in {c.doc_id for c in draft.citations}:
            return draft
        q = set(tokenize(query))
        have = q.intersection(tokenize(draft.text))
        best = best_sentences(query, doc_hit.chunk.text, limit=1, force=True)
        if not best or best[0] in draft.text:
            return draft
        adds = q.intersection(tokenize(best[0])) - have
        if len(adds) < MIN_NEW_TERMS:
            return draft
        lead = say("supplement", lang)
        cites = list(draft.citations)
        if citation(doc_hit.chunk) not in cites:
            cites.append(citation(doc_hit.chunk))
        return Draft(f"{draft.text}{lead}{best[0]}", cites)

    def add_related(self, draft: Draft, chunks: list[Chunk], lang: str) -> Draft:
        """Append short passages that answer the same question alongside the draft's own (the
        other rows of a price table asked about together, the FAQ on what happens after
        booking), each cited."""
        text, cites = draft.text, list(draft.citations)
        for chunk in chunks:
            if chunk.text.strip() in text or _repeats(chunk.text, text):
                continue
            text += say("related", lang) + chunk.text.strip()
            if citation(chunk) not in cites:
                cites.append(citation(chunk))
        return Draft(text, cites)


def _repeats(passage: str, text: str) -> bool:
    """A passage whose figures the text already states, in another FAQ's words, adds nothing."""
    figures = set(number_tokens(passage))
    return bool(figures) and figures <= set(number_tokens(text))
