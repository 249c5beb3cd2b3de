"""Shared fixtures. Real Chroma everywhere; the real model where behaviour is at stake."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.paths import KNOWLEDGE, MODEL_CACHE, ROOT, SEEDS  # noqa: F401 - re-exported

# The answer contract shared by `bot ask --json` and POST /api/chat (README "Command line").
ANSWER_FIELDS = frozenset(
    {"turn_id", "outcome", "answer", "citations", "confidence", "ticket_id", "latency_ms"}
)


def make_settings(data_dir: Path, knowledge_dir: Path = KNOWLEDGE, **kw):
    from bot.settings import Settings

    return Settings(
        knowledge_dir=knowledge_dir, data_dir=data_dir, model_cache_dir=MODEL_CACHE, **kw
    )


def create_ticket(store, key="s1:0", session="s1", category="human", **kw):
    """A ticket in `store` as a 转人工 turn would open it (tests/test_tickets, test_postgres)."""
    return store.create(
        key=key,
        session_id=session,
        category=category,
        summary="我要转人工",
        transcript=[{"q": "我要转人工"}],
        **kw,
    )


@pytest.fixture
def knowledge_copy(tmp_path) -> Path:
    """A private copy of knowledge/ that a test may edit."""
    dst = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, dst)
    return dst


@pytest.fixture
def hash_embedder():
    from bot.embed.embedder import HashEmbedder

    return HashEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The real multilingual-e5-small, provisioned once into the shared model cache."""
    from bot.factory import build_embedder

    # Built from the settings, as the app and `python -m bot` build theirs: the same backend
    # (KEFU_EMBEDDING_BACKEND, auto by default), so a server or CLI started by a test accepts
    # the session index this embedder built.
    emb = build_embedder(make_settings(MODEL_CACHE.parent))
    emb.warm_up()
    return emb


@pytest.fixture(scope="session")
def real_index(tmp_path_factory, real_embedder) -> Path:
    """knowledge/ ingested with the real model into a session-wide data dir."""
    from bot.factory import ingest

    data = tmp_path_factory.mktemp("data")
    ingest(make_settings(data), embedder=real_embedder, progress=False)
    return data


@pytest.fixture(scope="session")
def real_bot(real_index, real_embedder):
    from bot.factory import build_bot

    return build_bot(make_settings(real_index), embedder=real_embedder, chat_log=False)


@pytest.fixture
def cli_env(real_index) -> dict[str, str]:
    """Environment for running `python -m bot` in a subprocess against the session index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEFU_")}
    env.update(
        KEFU_DATA_DIR=str(real_index),
        KEFU_MODEL_CACHE_DIR=str(MODEL_CACHE),
        KEFU_KNOWLEDGE_DIR=str(KNOWLEDGE),
        PYTHONPATH=str(ROOT),
    )
    return env


PYTHON = sys.executable


# The browser fixtures live in one place for every module that drives Chromium: imported per
# module, each module would get its own session fixture and start Playwright a second time.
from tests.browser_support import browser, chromium, live_dir, live_server, new_page  # noqa: E402,F401
from tests.servers import (  # noqa: E402,F401
    chroma_server,
    postgres_server,
    postgres_url,
    redis_server,
    redis_url,
)
