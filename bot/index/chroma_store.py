"""Chroma as the vector store. kefu always supplies its own embeddings."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from bot.errors import ConfigError
from bot.types import Chunk, FaqQuestion

_BATCH = 500  # below Chroma's max batch size on every backend


class _RefuseToEmbed:
    """Installed as Chroma's embedding function so it can never fall back to its own model."""

    def __call__(self, input):
        raise RuntimeError("kefu supplies embeddings itself; Chroma must not embed")

    @staticmethod
    def name() -> str:
        return "kefu_refuse"

    def get_config(self) -> dict:
        return {}

    @staticmethod
    def build_from_config(config: dict) -> _RefuseToEmbed:
        return _RefuseToEmbed()

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


def make_client(settings) -> Any:
    """A PersistentClient under data_dir, or an HttpClient when chroma_host is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                settings=chroma_settings,
            )
        except ValueError as e:  # chromadb's "Could not connect to a Chroma server"
            where = f"{settings.chroma_host}:{settings.chroma_port}"
            raise ConfigError(
                f"无法连接 Chroma 服务器 {where}(KEFU_CHROMA_HOST / KEFU_CHROMA_PORT):{e}"
            ) from e
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class ChromaStore:
    """Two collections: chunks, and FAQ phrasings; the index manifest rides in metadata.

    Versioned: each ingest that changes anything writes a new version's collections
    (`<name>_<version>_chunks`, `<name>_<version>_faq_questions`) beside the one in use, then
    points `<name>_head` at it in one metadata write. Readers open whatever the head names, so
    no reader ever sees half an index; the version before stays for readers still on it and
    older ones are dropped. An index from before versions (`<name>_chunks`) is version "".
    """

    def __init__(self, client: Any, name: str):
        self.client = client
        self.name = name
        self.version: str | None = None  # None: not opened yet
        self._chunks = None
        self._questions = None

    def _collection(self, suffix: str, create: bool, version: str = ""):
        name = f"{self.name}_{version}_{suffix}" if version else f"{self.name}_{suffix}"
        if create:
            return self.client.get_or_create_collection(
                name,
                embedding_function=_RefuseToEmbed(),
                configuration={"hnsw": {"space": "cosine"}},
            )
        return self.client.get_collection(name, embedding_function=_RefuseToEmbed())

    # -- versions ---------------------------------------------------------------
    def _head(self, create: bool = False):
        name = f"{self.name}_head"
        if create:
            return self.client.get_or_create_collection(name, embedding_function=_RefuseToEmbed())
        return self.client.get_collection(name, embedding_function=_RefuseToEmbed())

    def current_version(self) -> str:
        """The version readers should open ("" for an index from before versions)."""
        try:
            head = self._head()
        except Exception:  # no head yet: the unversioned collections, if any
            return ""
        return str((head.metadata or {}).get("kefu_version") or "")

    def open(self, create: bool = False, version: str | None = None) -> ChromaStore:
        """Open (or create) the collections of `version` (default: the current one); raises
        if they are missing and create is False."""
        version = self.current_version() if version is None else version
        self._chunks = self._collection("chunks", create, version)
        self._questions = self._collection("faq_questions", create, version)
        self.version = version
        return self

    def new_version(self) -> ChromaStore:
        """A store on fresh, empty collections for the next version (not yet published)."""
        import time

        version = f"v{time.time_ns() // 1_000_000}"
        return ChromaStore(self.client, self.name).open(create=True, version=version)

    def publish(self, version: str) -> list[str]:
        """Point readers at `version` (one metadata write), reopen this store on it, and drop
        every version but it and the one it replaces; returns the dropped collections."""
        previous = self.current_version()
        self._head(create=True).modify(metadata={"kefu_version": version})
        self.open(version=version)
        keep = {version, previous}
        dropped = []
        for name in self._collection_names():
            rest = name.removeprefix(f"{self.name}_")
            for suffix in ("_chunks", "_faq_questions"):
                if rest.endswith(suffix) or rest == suffix[1:]:
                    v = "" if rest == suffix[1:] else rest.removesuffix(suffix)
                    if (v == "" or re.fullmatch(r"v\d+", v)) and v not in keep:
                        self.client.delete_collection(name)
                        dropped.append(name)
        return dropped

    def _collection_names(self) -> list[str]:
        names = []
        for c in self.client.list_collections():
            names.append(c if isinstance(c, str) else c.name)
        return [n for n in names if n.startswith(f"{self.name}_")]

    def chunk_vectors(self, ids: Sequence[str]) -> np.ndarray:
        return self._vectors(self.chunks, ids)

    def question_vectors_for(self, ids: Sequence[str]) -> np.ndarray:
        return self._vectors(self.questions, ids)

    @staticmethod
    def _vectors(collection, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of `ids`, in that order (what a new version copies over)."""
        out: dict[str, Any] = {}
        ids = list(ids)
        for i in range(0, len(ids), _BATCH):
            got = collection.get(ids=ids[i : i + _BATCH], include=["embeddings"])
            out.update(zip(got["ids"], got["embeddings"], strict=True))
        if not ids:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray([out[i] for i in ids], dtype=np.float32)

    @property
    def chunks(self):
        if self._chunks is None:
            self.open()
        return self._chunks

    @property
    def questions(self):
        if self._questions is None:
            self.open()
        return self._questions

    # -- manifest -------------------------------------------------------------
    def manifest(self) -> dict | None:
        raw = (self.chunks.metadata or {}).get("kefu_manifest")
        return json.loads(raw) if raw else None

    def set_manifest(self, manifest: dict) -> None:
        self.chunks.modify(metadata={"kefu_manifest": json.dumps(manifest, ensure_ascii=False)})

    # -- writes ---------------------------------------------------------------
    @staticmethod
    def _ids(collection) -> set[str]:
        return set(collection.get(include=[])["ids"])

    def chunk_ids(self) -> set[str]:
        return self._ids(self.chunks)

    def question_ids(self) -> set[str]:
        return self._ids(self.questions)

    def chunk_doc_ids(self) -> dict[str, str]:
        got = self.chunks.get(include=["metadatas"])
        return {i: m["doc_id"] for i, m in zip(got["ids"], got["metadatas"], strict=True)}

    @staticmethod
    def _upsert(collection, ids, vectors: np.ndarray, documents, metadatas) -> None:
        for i in range(0, len(ids), _BATCH):
            collection.upsert(
                ids=ids[i : i + _BATCH],
                embeddings=vectors[i : i + _BATCH].tolist(),
                documents=documents[i : i + _BATCH],
                metadatas=metadatas[i : i + _BATCH],
            )

    @staticmethod
    def _delete(collection, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            collection.delete(ids=list(ids[i : i + _BATCH]))

    def add_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        self._upsert(
            self.chunks,
            [c.id for c in chunks],
            vectors,
            [c.text for c in chunks],
            [c.metadata() for c in chunks],
        )

    def add_questions(self, questions: Sequence[FaqQuestion], vectors: np.ndarray) -> None:
        self._upsert(
            self.questions,
            [q.id for q in questions],
            vectors,
            [q.text for q in questions],
            [{"faq_id": q.faq_id, "brand": q.brand} for q in questions],
        )

    def delete_chunks(self, ids: Sequence[str]) -> None:
        self._delete(self.chunks, ids)

    def delete_questions(self, ids: Sequence[str]) -> None:
        self._delete(self.questions, ids)

    # -- reads ----------------------------------------------------------------
    def question_vectors(self) -> np.ndarray:
        """Every FAQ phrasing's vector (for the attack screen's side of real questions)."""
        got = self.questions.get(include=["embeddings"])
        vectors = got["embeddings"]
        return np.asarray(vectors, dtype=np.float32) if len(vectors) else np.zeros((0, 1))

    def all_chunks(self) -> list[Chunk]:
        got = self.chunks.get(include=["documents", "metadatas"])
        return [
            Chunk.from_metadata(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    @staticmethod
    def _where(brands: Sequence[str] | None) -> dict | None:
        return {"brand": {"$in": list(brands)}} if brands else None

    def query_chunks(
        self, vector: np.ndarray, n: int, brands: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        n = min(n, self.chunks.count()) or 1
        got = self.chunks.query(
            query_embeddings=[vector.tolist()],
            n_results=n,
            where=self._where(brands),
            include=["distances"],
        )
        return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def query_questions(
        self, vector: np.ndarray, n: int, brands: Sequence[str] | None = None
    ) -> list[tuple[str, str, float]]:
        """(faq id, phrasing, cosine similarity), best first."""
        total = self.questions.count()
        if total == 0:
            return []
        got = self.questions.query(
            query_embeddings=[vector.tolist()],
            n_results=min(n, total),
            where=self._where(brands),
            include=["documents", "metadatas", "distances"],
        )
        return [
            (m["faq_id"], d, 1.0 - dist)
            for m, d, dist in zip(
                got["metadatas"][0], got["documents"][0], got["distances"][0], strict=True
            )
        ]
