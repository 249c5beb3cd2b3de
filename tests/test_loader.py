"""Corpus validation: every malformed file is reported with file, line and field."""

from __future__ import annotations

import pytest

from bot.errors import CorpusError
from bot.ingest.loader import fingerprint, load_corpus
from tests.conftest import KNOWLEDGE, SEEDS


def test_shipped_knowledge_is_valid():
    corpus = load_corpus(KNOWLEDGE)
    assert len(corpus.documents) >= 15
    assert len(corpus.faqs) >= 30
    assert {d.brand for d in corpus.documents} == {"oppo", "aupu", "general"}
    kinds = {c.kind for c in corpus.conflicts}
    assert kinds == {"conflict", "missing"}


def _problems(root) -> list[str]:
    with pytest.raises(CorpusError) as e:
        load_corpus(root)
    return e.value.problems


def test_bad_brand_reported_with_file_line_field(knowledge_copy):
    p = knowledge_copy / "docs" / "oppo-fees.md"
    p.write_text(
        p.read_text(encoding="utf-8").replace("brand: oppo", "brand: huawei"), encoding="utf-8"
    )
    (problem,) = _problems(knowledge_copy)
    assert problem.startswith("knowledge/docs/oppo-fees.md:2: brand:")
    assert "huawei" in problem


def test_missing_front_matter_field(knowledge_copy):
    p = knowledge_copy / "docs" / "oppo-fees.md"
    lines = [x for x in p.read_text(encoding="utf-8").splitlines() if not x.startswith("updated:")]
    p.write_text("\n".join(lines), encoding="utf-8")
    assert any(":2: updated: missing" in x for x in _problems(knowledge_copy))


def test_invalid_yaml_names_the_line(knowledge_copy):
    p = knowledge_copy / "faq" / "oppo.yaml"
    text = p.read_text(encoding="utf-8").splitlines()
    text.insert(3, "  question: [unclosed")
    p.write_text("\n".join(text), encoding="utf-8")
    (problem,) = _problems(knowledge_copy)
    assert problem.startswith("knowledge/faq/oppo.yaml:") and "yaml" in problem


def test_faq_with_a_number_its_document_lacks_is_rejected(knowledge_copy):
    p = knowledge_copy / "faq" / "oppo.yaml"
    text = p.read_text(encoding="utf-8")
    first_answer = text.index("answer:")
    p.write_text(
        text[:first_answer]
        + "answer: 客服热线是 400-123-4567。\n  "
        + text[first_answer:].split("\n", 1)[1],
        encoding="utf-8",
    )
    problems = _problems(knowledge_copy)
    assert any("answer: number '400-123-4567' is not in doc" in x for x in problems)


def test_faq_entry_needs_only_question_and_answer(knowledge_copy):
    p = knowledge_copy / "faq" / "aupu.yaml"
    p.write_text(
        p.read_text(encoding="utf-8")
        + "\n- id: aupu-faq-short\n  brand: aupu\n  question: 浴霸能装在卫生间外吗?\n"
        "  answer: 资料没有说明。\n",
        encoding="utf-8",
    )
    faq = next(f for f in load_corpus(knowledge_copy).faqs if f.id == "aupu-faq-short")
    # paraphrases are optional; the file itself is the source and the citation's document
    assert faq.paraphrases == () and faq.source == ("faq/aupu.yaml",) and faq.doc == "faq/aupu.yaml"


def test_faq_entry_without_question_is_reported(knowledge_copy):
    p = knowledge_copy / "faq" / "aupu.yaml"
    p.write_text(
        p.read_text(encoding="utf-8") + "\n- id: aupu-faq-broken\n  answer: 测试。\n",
        encoding="utf-8",
    )
    assert any(": question: missing" in x for x in _problems(knowledge_copy))


def test_unsupported_and_unreadable_files_are_reported_not_silently_skipped(knowledge_copy):
    (knowledge_copy / "slides.pptx").write_bytes(b"PK\x03\x04junk")
    (knowledge_copy / "broken.docx").write_bytes(b"not a word file")
    corpus = load_corpus(knowledge_copy)  # the rest still loads
    reports = {f.path: f for f in corpus.files}
    assert "unsupported" in reports["slides.pptx"].error
    assert reports["broken.docx"].error and "NOT READ" in reports["broken.docx"].line()
    assert len(corpus.documents) >= 15


def test_binary_junk_file_is_reported(knowledge_copy):
    (knowledge_copy / "docs" / "junk.md").write_bytes(b"---\n\xff\xfe\x00garbage")
    assert any("junk.md:2: encoding" in x for x in _problems(knowledge_copy))


def test_duplicate_ids_are_reported(knowledge_copy):
    src = knowledge_copy / "docs" / "oppo-fees.md"
    (knowledge_copy / "docs" / "oppo-fees-copy.md").write_text(
        src.read_text(encoding="utf-8"), encoding="utf-8"
    )
    problems = _problems(knowledge_copy)
    assert any("id: 'oppo-fees' must match the file name" in x for x in problems)
    assert any("also used in" in x for x in problems)


def test_conflict_value_must_appear_in_its_document(knowledge_copy):
    p = knowledge_copy / "conflicts.yaml"
    p.write_text(
        p.read_text(encoding="utf-8").replace("4001-666-888", "4001-666-889", 1), encoding="utf-8"
    )
    assert any("does not appear in doc" in x for x in _problems(knowledge_copy))


def test_section_source_must_be_declared(knowledge_copy):
    p = knowledge_copy / "docs" / "oppo-fees.md"
    p.write_text(
        p.read_text(encoding="utf-8")
        + "\n## 新节\n<!-- source: 003_9fca4de00a391356.txt -->\n内容。\n",
        encoding="utf-8",
    )
    assert any("not listed in front matter source" in x for x in _problems(knowledge_copy))


def test_fingerprint_changes_with_content_only(knowledge_copy):
    before = fingerprint(knowledge_copy)
    assert fingerprint(knowledge_copy) == before
    (knowledge_copy / "README.md").write_text("docs only", encoding="utf-8")
    assert fingerprint(knowledge_copy) == before
    p = knowledge_copy / "docs" / "oppo-fees.md"
    p.write_text(p.read_text(encoding="utf-8") + "\n补充。\n", encoding="utf-8")
    assert fingerprint(knowledge_copy) != before


def test_every_cited_seed_has_a_readable_title():
    titles = load_corpus(KNOWLEDGE).source_titles
    seeds = {p.name for p in SEEDS.glob("*.txt")}
    assert set(titles) == seeds
    assert all(not t.endswith(".txt") for t in titles.values())


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("- {file: 001_0c8d544d1019dfed.txt, title: ''}", "title"),
        ("- {file: notes.txt, title: 笔记}", "file"),  # named as no document's source
        ("- just a string", "entry"),
    ],
)
def test_malformed_source_titles_are_reported(knowledge_copy, entry, field):
    p = knowledge_copy / "sources.yaml"
    p.write_text(p.read_text(encoding="utf-8") + entry + "\n", encoding="utf-8")
    problems = _problems(knowledge_copy)
    assert any(x.startswith("knowledge/sources.yaml:") and f": {field}:" in x for x in problems)


def test_a_seed_without_a_title_is_reported(knowledge_copy):
    p = knowledge_copy / "sources.yaml"
    kept = p.read_text(encoding="utf-8").split("- file: 004_453d0998f6d668c3.txt")[0]
    p.write_text(kept, encoding="utf-8")
    (problem,) = _problems(knowledge_copy)
    assert "004_453d0998f6d668c3.txt has no title" in problem
