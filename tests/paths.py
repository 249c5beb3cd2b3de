"""Where the tests find the repository, its knowledge, the seeds and the model cache.

A module of its own so that conftest.py and the fixture modules it loads (browser_support)
can share these without importing each other."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"
SEEDS = ROOT.parent / "shared" / "seeds"
MODEL_CACHE = Path(os.environ.get("KEFU_MODEL_CACHE_DIR", ROOT / "data" / "models"))
