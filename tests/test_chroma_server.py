"""The Chroma server path for real: ingest into `chroma run`, answer from it with two bots."""

from __future__ import annotations

import pytest

from tests.conftest import make_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTIONS = (
    "手机屏幕碎了换屏多少钱?",
    "浴霸安装收费吗",
    "售后热线是多少",
    "How long is the warranty?",
)


@pytest.fixture(scope="module")
def served(chroma_server, real_embedder, tmp_path_factory):
    """knowledge/ ingested into the Chroma server; settings that point at it."""
    from bot.factory import ingest

    host, port = chroma_server
    settings = make_settings(
        tmp_path_factory.mktemp("server_data"), chroma_host=host, chroma_port=port
    )
    report = ingest(settings, embedder=real_embedder, progress=False)
    return settings, report


def test_ingest_into_the_server_indexes_everything_and_a_rerun_changes_nothing(
    served, real_embedder
):
    from bot.factory import ingest

    settings, first = served
    assert first.chunks > 100 and first.added == first.chunks
    again = ingest(settings, embedder=real_embedder, progress=False)
    assert (again.added, again.removed, again.unchanged) == (0, 0, first.chunks)
    assert not (settings.data_dir / "chroma").exists()  # nothing embedded on local disk


def test_two_bots_on_the_server_answer_as_the_embedded_index_does(served, real_embedder, real_bot):
    from bot.factory import build_bot

    settings, _ = served
    workers = [build_bot(settings, embedder=real_embedder, chat_log=False) for _ in range(2)]
    for i, q in enumerate(QUESTIONS):
        embedded = real_bot.ask(q, session_id=f"emb-{i}")
        for w, bot in enumerate(workers):
            a = bot.ask(q, session_id=f"srv-{w}-{i}")
            assert (a.outcome, a.text) == (embedded.outcome, embedded.text), (q, w)
            assert [c.doc_id for c in a.citations] == [c.doc_id for c in embedded.citations]


def test_a_server_that_is_not_there_is_a_clear_error_naming_it(tmp_path, real_embedder):
    from bot.errors import ConfigError
    from bot.factory import build_bot
    from tests.servers import free_port

    port = free_port()
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port)
    with pytest.raises(ConfigError) as e:
        build_bot(settings, embedder=real_embedder, chat_log=False)
    assert f"127.0.0.1:{port}" in str(e.value) and "KEFU_CHROMA_HOST" in str(e.value)


NEW_DOC = """---
id: test-new-policy
title: 以旧换新补贴说明
brand: oppo
topic: fees
source: [000_8da8ecd3b282c572.txt]
updated: 2026-12-01
---

## 以旧换新
参加以旧换新活动的旧机需能正常开机,补贴金额以门店评估为准。
"""


def test_a_reingest_while_serving_never_shows_half_an_index(
    chroma_server, real_embedder, tmp_path_factory
):
    """Readers stay on the version they opened while the next is built beside it; the server
    follows the published version; a version is dropped only after the next one replaces it."""
    import asyncio
    import shutil
    import threading

    from bot.factory import build_bot, ingest
    from bot.web.api import Runtime
    from bot.web.limits import RateLimiter
    from bot.web.server import _follow_index
    from tests.conftest import KNOWLEDGE

    host, port = chroma_server
    knowledge = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    settings = make_settings(
        tmp_path_factory.mktemp("reingest"),
        knowledge_dir=knowledge,
        chroma_host=host,
        chroma_port=port,
        collection="reingest",
        index_reload_s=0.2,
    )
    ingest(settings, embedder=real_embedder, progress=False)
    bot = build_bot(settings, embedder=real_embedder, chat_log=False)
    first = bot.index_version
    known = set(bot.retriever.by_id)

    errors, foreign, empty, asked = [], set(), 0, 0
    done = threading.Event()

    def serve():
        nonlocal empty, asked
        questions = [*QUESTIONS, "以旧换新补贴怎么算", "维修后换的配件保修多久"]
        while (not done.is_set() or asked < 200) and asked < 5000:
            q = questions[asked % len(questions)]
            try:
                vec = real_embedder.embed_queries([q])[0]
                ids = [i for i, _ in bot.retriever.store.query_chunks(vec, 20)]
                foreign.update(set(ids) - known)
                empty += not ids
                a = bot.ask(q, session_id=f"r-{asked}")
                empty += not a.text
            except Exception as e:
                errors.append(repr(e))
            asked += 1

    reader = threading.Thread(target=serve, daemon=True)
    reader.start()
    try:
        (knowledge / "docs" / "test-new-policy.md").write_text(NEW_DOC, encoding="utf-8")
        report = ingest(settings, embedder=real_embedder, progress=False)
    finally:
        done.set()
        reader.join(timeout=600)
    assert report.added >= 1 and asked >= 200
    assert errors == [] and empty == 0
    assert foreign == set(), "a reader saw chunks of the version being built"

    # The server switches to the published version by itself.
    rt = Runtime(settings=settings, limiter=RateLimiter("1000/minute"), bot=bot)

    async def follow():
        task = asyncio.create_task(_follow_index(rt))
        for _ in range(3000):  # up to 5 minutes on a loaded machine
            await asyncio.sleep(0.1)
            if rt.bot is not bot:
                break
        task.cancel()

    # In a thread of its own: another test may leave an event loop running in this one.
    follower = threading.Thread(target=lambda: asyncio.run(follow()))
    follower.start()
    follower.join()
    assert rt.bot is not bot and rt.bot.index_version != first
    answer = rt.bot.ask("以旧换新的旧机有什么要求", session_id="after")
    assert "test-new-policy" in [c.doc_id for c in answer.citations]

    # The old version stays for readers still on it until the next version replaces it.
    assert bot.ask("浴霸安装收费吗", session_id="old-reader").text
    (knowledge / "docs" / "test-new-policy.md").unlink()
    ingest(settings, embedder=real_embedder, progress=False)
    names = {
        c if isinstance(c, str) else c.name for c in bot.retriever.store.client.list_collections()
    }
    assert f"reingest_{first}_chunks" not in names
    assert f"reingest_{rt.bot.index_version}_chunks" in names  # the one just replaced
