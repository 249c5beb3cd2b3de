"""A second look at what the injection patterns let through, by meaning instead of wording.

The patterns (bot/guard/injection.py) know the phrasings someone wrote down; a new red team
words the same attacks differently. The screen compares the turn's query vector (the one
retrieval already computed: no extra model call) with two sets of exemplars: attacks
(`attacks.yaml`, brand-neutral) and what customers ask (the knowledge's own FAQ phrasings,
which the index holds, plus benign look-alikes from `attacks.yaml`). A query whose nearest
attacks are closer than its nearest questions by more than `margin` is refused as an
injection. The attack vectors are cached beside the index, keyed by the model and the texts.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

EXEMPLARS = Path(__file__).with_name("attacks.yaml")
NEAREST = 3  # neighbours averaged on each side: one odd exemplar cannot decide alone


@dataclass(frozen=True)
class AttackScreen:
    hostile: np.ndarray  # (n, d) unit rows
    benign: np.ndarray  # (m, d) unit rows
    margin: float

    def score(self, vector: np.ndarray) -> float:
        """Mean cosine to the nearest attacks minus mean cosine to the nearest questions."""
        near_h = np.sort(self.hostile @ vector)[-NEAREST:]
        near_b = np.sort(self.benign @ vector)[-NEAREST:]
        return float(near_h.mean() - near_b.mean())

    def flags(self, vector: np.ndarray | None) -> bool:
        return vector is not None and self.score(vector) > self.margin


def _exemplars() -> tuple[list[str], list[str]]:
    import yaml

    data = yaml.safe_load(EXEMPLARS.read_text(encoding="utf-8"))
    return list(data["hostile"]), list(data["benign"])


def load_screen(embedder, faq_vectors: np.ndarray, cache_dir: Path, margin: float) -> AttackScreen:
    """The screen over `faq_vectors` (the index's FAQ phrasings), exemplars embedded once."""
    hostile, benign = _exemplars()
    texts = hostile + benign
    key = hashlib.sha256(
        json.dumps([embedder.fingerprint, texts], ensure_ascii=False).encode()
    ).hexdigest()[:16]
    cache = Path(cache_dir) / f"screen-{key}.npy"
    vectors = None
    if cache.exists():
        try:
            vectors = np.load(cache)
        except (OSError, ValueError):
            vectors = None  # a torn write: embed again
    if vectors is None or vectors.shape[0] != len(texts):
        vectors = np.asarray(embedder.embed_queries(texts), dtype=np.float32)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp.npy")
            np.save(tmp, vectors)
            tmp.replace(cache)  # readers never see half a file
        except OSError as e:
            log.warning("attack screen: could not cache exemplar vectors (%s)", e)
    h, b = vectors[: len(hostile)], vectors[len(hostile) :]
    if len(faq_vectors):
        b = np.vstack([b, np.asarray(faq_vectors, dtype=np.float32)])
    return AttackScreen(h, b, margin)
