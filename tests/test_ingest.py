"""Ingest into a real Chroma: idempotent, incremental, and all-or-nothing on bad input."""

from __future__ import annotations

import pytest

from bot.errors import CorpusError
from bot.factory import build_store, ingest
from tests.conftest import make_settings


def _ingest(settings, embedder):
    return ingest(settings, embedder=embedder, progress=False)


class CountingEmbedder:
    """The hash fake, counting what it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.fingerprint = inner.fingerprint
        self.passages = 0

    def embed_passages(self, texts):
        self.passages += len(texts)
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


def test_second_run_changes_nothing(tmp_path, knowledge_copy, hash_embedder):
    settings = make_settings(tmp_path / "data", knowledge_copy)
    first = _ingest(settings, hash_embedder)
    assert first.added == first.chunks > 0 and first.removed == 0
    ids = build_store(settings).open().chunk_ids()
    emb = CountingEmbedder(hash_embedder)
    second = _ingest(settings, emb)
    assert (second.added, second.removed, second.unchanged) == (0, 0, first.chunks)
    assert emb.passages == 0
    assert build_store(settings).open().chunk_ids() == ids


def test_edit_reembeds_only_that_documents_changed_chunks(tmp_path, knowledge_copy, hash_embedder):
    settings = make_settings(tmp_path / "data", knowledge_copy)
    _ingest(settings, hash_embedder)
    before = build_store(settings).open().chunk_doc_ids()
    p = knowledge_copy / "docs" / "oppo-scams.md"
    p.write_text(
        p.read_text(encoding="utf-8") + "\n## 新增说明\n请通过官方渠道办理售后。\n",
        encoding="utf-8",
    )
    emb = CountingEmbedder(hash_embedder)
    report = _ingest(settings, emb)
    after = build_store(settings).open().chunk_doc_ids()
    added = set(after) - set(before)
    assert report.added == emb.passages == len(added) == 1
    assert {after[i] for i in added} == {"oppo-scams"}
    assert report.removed == 0 and report.docs_updated == 1


def test_deleted_document_disappears(tmp_path, knowledge_copy, hash_embedder):
    settings = make_settings(tmp_path / "data", knowledge_copy)
    _ingest(settings, hash_embedder)
    (knowledge_copy / "docs" / "oppo-service-network.md").unlink()
    report = _ingest(settings, hash_embedder)
    docs = set(build_store(settings).open().chunk_doc_ids().values())
    assert "oppo-service-network" not in docs
    assert report.removed > 0 and report.docs_removed == 1 and report.added == 0


def test_malformed_corpus_writes_nothing(tmp_path, knowledge_copy, hash_embedder):
    settings = make_settings(tmp_path / "data", knowledge_copy)
    _ingest(settings, hash_embedder)
    store = build_store(settings).open()
    ids, manifest = store.chunk_ids(), store.manifest()
    bad = knowledge_copy / "docs" / "oppo-fees.md"
    bad.write_text(
        bad.read_text(encoding="utf-8").replace("brand: oppo", "brand: nonsense"), encoding="utf-8"
    )
    (knowledge_copy / "docs" / "oppo-scams.md").write_text(
        "---\nid: oppo-scams\n", encoding="utf-8"
    )
    with pytest.raises(CorpusError) as e:
        _ingest(settings, hash_embedder)
    assert len(e.value.problems) == 2
    store = build_store(settings).open()
    assert store.chunk_ids() == ids and store.manifest() == manifest


def test_first_ingest_of_a_bad_corpus_creates_no_index(tmp_path, knowledge_copy, hash_embedder):
    settings = make_settings(tmp_path / "data", knowledge_copy)
    (knowledge_copy / "conflicts.yaml").write_text("- id: [broken\n", encoding="utf-8")
    with pytest.raises(CorpusError):
        _ingest(settings, hash_embedder)
    assert not (tmp_path / "data").exists()


def test_model_change_rebuilds_the_index(tmp_path, knowledge_copy, hash_embedder):
    from bot.embed.embedder import HashEmbedder

    settings = make_settings(tmp_path / "data", knowledge_copy)
    _ingest(settings, hash_embedder)
    other = HashEmbedder(dimension=128)
    report = _ingest(settings, other)
    assert report.rebuilt and report.added == report.chunks
    assert build_store(settings).open().manifest()["model"] == other.fingerprint
