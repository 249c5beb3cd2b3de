"""Embedding: model provisioning (works with no model hub) and the embedders built on it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from bot.embed.embedder import HashEmbedder, SentenceTransformerEmbedder
    from bot.embed.provision import ModelProvisionError, default_cache_dir, ensure_model


@runtime_checkable
class Embedder(Protocol):
    """What the index and retriever need from an embedder."""

    @property
    def name(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


# Resolved on first access: keeps `import bot.embed` free of numpy, and lets
# `python -m bot.embed.provision` run without the module being imported twice.
_LAZY = {
    "HashEmbedder": "bot.embed.embedder",
    "SentenceTransformerEmbedder": "bot.embed.embedder",
    "ModelProvisionError": "bot.embed.provision",
    "default_cache_dir": "bot.embed.provision",
    "ensure_model": "bot.embed.provision",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Embedder",
    "HashEmbedder",
    "ModelProvisionError",
    "SentenceTransformerEmbedder",
    "default_cache_dir",
    "ensure_model",
]
