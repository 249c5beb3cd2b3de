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
