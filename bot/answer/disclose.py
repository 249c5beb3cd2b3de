"""Disclosure: where sources disagree, every value with its citation; where none exists, say so."""

from __future__ import annotations

import re

from bot.answer.extractive import Draft, citation
from bot.guard.numbers import normalize, number_tokens
from bot.ingest.conflicts import AUTO
from bot.messages import say
from bot.types import Citation, Corpus

# The answer already says the value is missing: adding the missing-value note would repeat it.
_SAYS_MISSING = re.compile(
    r"没有给出|没有提供|未给出|未提供|未公布|没有写明|资料(里|中)?没有|暂无|not given|don't have"
)


def _states(text: str, value: str, keyword_hit: bool) -> bool:
    """Whether an answer states `value`: verbatim, or (on topic) with all of its figures."""
    if normalize(value) in normalize(text):
        return True
    figures = number_tokens(value)
    return keyword_hit and bool(figures) and all(f in number_tokens(text) for f in figures)


# Words that name the kind of value, not what it is about.
_VALUE_WORDS = frozenset(
    {"保修期", "保修", "质保", "价格", "收费", "费用", "号码", "电话", "热线", "客服热线"}
    | {"服务热线", "时间", "时长", "期限", "多久"}
)


def _asks_about(subject: str, question: str, brand: str | None, products: dict) -> bool:
    """Whether a question names every content word of a conflict's subject: a word's first two
    characters will do ("扫地机" names "扫地机器人"), and a product is named by the turn's
    product or any of its aliases ("S2 Pro")."""
    from bot.index.sparse import _CJK_RUN, _jieba

    words = [w for run in _CJK_RUN.findall(subject) for w in _jieba().lcut(run)]
    for w in (w for w in words if len(w) >= 2 and w not in _VALUE_WORDS):
        if w in question or w[:2] in question:
            continue
        product = next((p for p, names in products.items() if w.lower() in names), None)
        if product is None or not (
            brand == product or any(n in question for n in products[product])
        ):
            return False
    return True


class Discloser:
    """Adds conflict and missing-value notes to a draft, with the citations they rest on."""

    def __init__(self, corpus: Corpus, chunks: list):
        self.corpus = corpus
        self.chunks = chunks
        self.titles = {d.id: d.title for d in corpus.documents}
        profile = corpus.profile
        self.products = profile.brand_words() if profile is not None else {}

    def __call__(self, draft: Draft, query: str, brand: str | None, lang: str) -> Draft:
        cited = {c.doc_id for c in draft.citations}
        text, cites = draft.text, list(draft.citations)
        q = query.lower()
        for c in self.corpus.conflicts:
            if brand is not None and c.brand not in (brand, "general"):
                continue
            keyword_hit = any(k.lower() in q for k in c.keywords)
            if (
                c.kind == "conflict"
                and c.id.startswith(AUTO)
                and not (keyword_hit and _asks_about(c.subject, q, brand, self.products))
            ):
                # A detected conflict's values can be short ("1年"): unless the question asks
                # about its subject (电池, not 整机), a neighbouring answer stating one is not
                # about it.
                continue
            if c.kind == "conflict":
                text = self._conflict(c, text, cites, cited, keyword_hit, lang)
            elif (
                c.docs & cited
                and keyword_hit
                and c.note not in text
                and not _SAYS_MISSING.search(text)
            ):
                chunk = self.chunk_in(c.doc)
                if chunk and citation(chunk) not in cites:
                    cites.append(citation(chunk))
                text += "\n" + say("missing", lang, note=c.note, how_to_find=c.how_to_find)
        return Draft(text, cites)

    def chunk_in(self, doc_id: str, needle: str = ""):
        """The chunk of `doc_id` holding `needle` (or its first chunk); a sheet's rows are
        FAQ chunks, so those count when the document has no sections of its own."""
        chunks = [c for c in self.chunks if c.doc_id == doc_id and c.kind == "doc"]
        chunks += [c for c in self.chunks if c.doc_id == doc_id and c.kind == "faq"]
        n = normalize(needle)
        return next(
            (c for c in chunks if n and n in normalize(c.text)), chunks[0] if chunks else None
        )

    def _conflict(
        self, c, text: str, cites: list[Citation], cited: set[str], keyword_hit: bool, lang: str
    ) -> str:
        """Cite every value of a conflict the answer touches (appending to `cites`); add the
        disclosure unless the answer already gives them all."""
        verbatim = [normalize(v.value) in normalize(text) for v in c.values]
        if not (c.docs & cited or any(verbatim)):
            return text
        if not any(_states(text, v.value, keyword_hit) for v in c.values):
            return text  # the answer does not touch the disputed value: nothing to disclose
        marks = []
        for v in c.values:
            cite = self._value_citation(v)
            if cite not in cites:
                cites.append(cite)
            marks.append(say("conflict_value", lang, value=v.value, n=str(cites.index(cite) + 1)))
        if all(verbatim):
            return text  # a vetted FAQ, say, already gives every value: cite, don't repeat
        values = say("conflict_first", lang) + say("conflict_sep", lang).join(marks)
        return (
            text
            + "\n"
            + say(
                "conflict",
                lang,
                subject=c.subject,
                values=values,
                advice=c.advice or say("conflict_advice", lang),
            )
        )

    def _value_citation(self, v) -> Citation:
        """The chunk holding a disputed value, attributed to the seed that states it."""
        chunk = self.chunk_in(v.doc, v.value)
        if chunk is None:
            return Citation(v.doc, self.titles.get(v.doc, v.doc), v.source)
        holds = normalize(v.value) in normalize(chunk.text)
        return Citation(
            chunk.doc_id,
            chunk.title,
            v.source if holds else ",".join(chunk.source),
            chunk.text,
            locator=chunk.locator,
        )
