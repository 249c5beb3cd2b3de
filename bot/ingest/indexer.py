"""Sync the index with knowledge/: embed only new chunks, into a new version of the index that
readers switch to at once when it is complete (bot/index/chroma_store.py)."""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bot.ingest.chunker import chunk_corpus, index_text
from bot.ingest.conflicts import AUTO
from bot.types import Corpus


class Embedder(Protocol):
    fingerprint: str

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...
    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class IngestReport:
    documents: int
    faqs: int
    chunks: int
    added: int
    removed: int
    unchanged: int
    docs_added: int
    docs_updated: int
    docs_removed: int
    seconds: float
    rebuilt: bool = False
    files: tuple = ()  # loader.FileReport per file
    conflicts: tuple = ()  # every Conflict in force (hand-written and detected)
    notes: list[str] = field(default_factory=list)  # what else ingest did (thresholds fitted)

    def details(self) -> str:
        """The report a team acts on: per file what was read and skipped, then the conflicts
        and missing values found."""
        lines = ["files:"]
        lines += ["  " + f.line().replace("\n", "\n  ") for f in self.files]
        unread = [f for f in self.files if f.error]
        if unread:
            lines.append(f"NOT READ: {len(unread)} file(s), see above")
        found = [c for c in self.conflicts if c.kind == "conflict"]
        missing = [c for c in self.conflicts if c.kind == "missing"]
        lines.append(f"conflicts: {len(found)}")
        for c in found:
            auto = " (detected)" if c.id.startswith(AUTO) else ""
            values = " | ".join(f"{v.value} ({v.doc})" for v in c.values)
            lines.append(f"  {c.subject}{auto}: {values}")
        lines.append(f"missing values: {len(missing)}")
        for c in missing:
            auto = " (detected)" if c.id.startswith(AUTO) else ""
            lines.append(f"  {c.subject}{auto}: {c.doc}: {c.note}")
        lines += self.notes
        return "\n".join(lines)

    def summary(self) -> str:
        return (
            f"ingest: {self.documents} documents, {self.faqs} FAQ entries, {self.chunks} chunks | "
            f"chunks +{self.added} -{self.removed} ={self.unchanged} | "
            f"documents added {self.docs_added}, updated {self.docs_updated}, removed {self.docs_removed}"
            f"{' | full rebuild (model changed)' if self.rebuilt else ''} | {self.seconds:.1f} s"
        )


def _embed(fn, texts: list[str], batch: int, desc: str, progress: bool) -> np.ndarray:
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    from tqdm import tqdm

    parts = []
    with tqdm(
        total=len(texts), desc=desc, unit="chunk", file=sys.stderr, disable=not progress
    ) as bar:
        for i in range(0, len(texts), batch):
            parts.append(fn(texts[i : i + batch]))
            bar.update(len(texts[i : i + batch]))
    return np.vstack(parts)


def sync(
    corpus: Corpus,
    store,
    embedder: Embedder,
    *,
    chunk_max_tokens: int,
    encoding: str,
    progress: bool = True,
    batch: int = 64,
) -> IngestReport:
    """Make the index equal to the corpus; safe to re-run, and a re-run changes nothing."""
    t0 = time.perf_counter()
    chunks, questions = chunk_corpus(corpus, chunk_max_tokens, encoding)

    try:
        store.open()
        old = store.manifest()
    except Exception:  # nothing indexed yet (Chroma raises various errors for a missing one)
        old = None
    rebuilt = bool(old and old.get("model") != embedder.fingerprint)
    # Vectors from another model live in another space (maybe another dimension): nothing of
    # the old version is kept then.
    old_docs = store.chunk_doc_ids() if old and not rebuilt else {}
    old_q = store.question_ids() if old and not rebuilt else set()
    new_ids = {c.id for c in chunks}
    add = [c for c in chunks if c.id not in old_docs]
    keep = [c for c in chunks if c.id in old_docs]
    remove = [i for i in old_docs if i not in new_ids]
    q_ids = {q.id for q in questions}
    add_q = [q for q in questions if q.id not in old_q]
    keep_q = [q for q in questions if q.id in old_q]
    remove_q = [i for i in old_q if i not in q_ids]

    # Embed everything before the first write, so a model failure leaves the index as it was.
    vecs = _embed(
        embedder.embed_passages, [index_text(c) for c in add], batch, "embedding chunks", progress
    )
    q_vecs = _embed(
        embedder.embed_queries, [q.text for q in add_q], batch, "embedding FAQ phrasings", progress
    )

    manifest = {
        "knowledge": corpus.fingerprint,
        "model": embedder.fingerprint,
        "chunks": len(chunks),
        "faq_questions": len(questions),
        "documents": len(corpus.documents),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if old is not None and not (add or add_q or remove or remove_q or rebuilt):
        # Nothing to re-index: the version in use stays; only its stamp is renewed.
        manifest["built_at"] = old.get("built_at", manifest["built_at"])
        if old != manifest:
            store.set_manifest(manifest)
    else:
        # The next version, beside the one readers use: the unchanged vectors copied over,
        # the new ones added; readers switch to it in one write, once it is complete.
        nxt = store.new_version()
        if keep:
            nxt.add_chunks(keep, store.chunk_vectors([c.id for c in keep]))
        if keep_q:
            nxt.add_questions(keep_q, store.question_vectors_for([q.id for q in keep_q]))
        if add:
            nxt.add_chunks(add, vecs)
        if add_q:
            nxt.add_questions(add_q, q_vecs)
        nxt.set_manifest(manifest)
        store.publish(nxt.version)

    before_docs = set(old_docs.values())
    after_docs = {c.doc_id for c in chunks}
    touched = {c.doc_id for c in add} | {old_docs[i] for i in remove}
    report = IngestReport(
        documents=len(corpus.documents),
        faqs=len(corpus.faqs),
        chunks=len(chunks),
        added=len(add),
        removed=len(remove),
        unchanged=len(chunks) - len(add),
        docs_added=len(after_docs - before_docs),
        docs_updated=len(touched & before_docs & after_docs),
        docs_removed=len(before_docs - after_docs),
        seconds=0.0,
        rebuilt=rebuilt,
        files=corpus.files,
        conflicts=corpus.conflicts,
    )
    report.seconds = time.perf_counter() - t0
    return report
