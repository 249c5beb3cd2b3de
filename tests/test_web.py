"""The web layer over the real bot: the JSON API, SSE, tickets, feedback, limits, widget, UI."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ANSWER_FIELDS, make_settings

pytestmark = pytest.mark.slow

WIDGET_JS = "window.kefuWidget = function () {};\n"
DEMO_HTML = "<!doctype html><title>demo</title><script src='/widget.js'></script>\n"


def sid() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def settings(real_bot):
    # Tests send far more than 30 requests a minute from one client; 429 has its own app.
    return real_bot.settings.model_copy(update={"rate_limit": "100000/minute"})


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("static")
    (d / "widget.js").write_text(WIDGET_JS, encoding="utf-8")
    (d / "demo.html").write_text(DEMO_HTML, encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def client(real_bot, settings, static_dir):
    from bot.web.server import create_app

    with TestClient(create_app(settings, bot=real_bot, static_dir=static_dir)) as c:
        yield c


def sse(text: str) -> list[tuple[str, dict]]:
    """Parse an event-stream body into (event, data) pairs."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


# -- health and chat ------------------------------------------------------------------------
def test_healthz_reports_the_loaded_model_and_index(client, real_bot):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["chunks"] > 100 and body["model"] == real_bot.settings.embedding_model
    assert body["faqs"] > 0 and body["documents"] > 0


def test_chat_returns_the_contract_with_a_session(client):
    r = client.post("/api/chat", json={"question": "oppo维修后换的配件保修多久"})
    assert r.status_code == 200
    body = r.json()
    assert ANSWER_FIELDS | {"session_id"} <= set(body)
    assert body["outcome"] == "answered" and "90天" in body["answer"]
    assert body["citations"][0]["doc_id"] == "oppo-warranty"
    assert "90天" in body["citations"][0]["text"]
    assert body["turn_id"] == f"{body['session_id']}:1"


def test_follow_up_in_the_same_session_uses_the_earlier_turn(client):
    first = client.post("/api/chat", json={"question": "客服电话多少?"}).json()
    assert first["outcome"] == "clarify"
    second = client.post(
        "/api/chat", json={"question": "奥普的", "session_id": first["session_id"]}
    ).json()
    assert second["outcome"] == "answered"
    assert second["citations"][0]["doc_id"].startswith("aupu-")


@pytest.mark.parametrize(
    "body, status, message",
    [
        ({"question": "   "}, 400, "问题不能为空"),
        ({"question": "\ufffd" * 40}, 400, "乱码"),
        ({"question": "保修" * 300}, 413, "问题过长"),
        ({"question": "保修多久", "brand": "huawei"}, 422, "brand"),
        ({"question": "保修多久", "session_id": "a b\n"}, 422, "session_id"),
        ({}, 422, "question"),
    ],
)
def test_bad_requests_get_clear_json_errors(client, body, status, message):
    r = client.post("/api/chat", json=body)
    assert r.status_code == status
    assert message in r.json()["error"]
    if status == 422:
        assert r.json()["detail"][0]["loc"][0] == "body"  # the details are kept for developers


@pytest.mark.parametrize(
    "path, raw",
    [
        ("/api/chat", b'{"question": "\\ud800"}'),  # a lone surrogate
        ("/api/chat/stream", b'{"question": "\\udfff"}'),
        ("/api/chat", b'{"question": 1e400}'),  # a float no JSON can hold
        ("/api/tickets", b'{"session_id": "s-sur", "contact": "\\ud800", "consent": true}'),
        (
            "/api/feedback",
            b'{"session_id": "s", "turn_id": "s:1", "rating": "up", "comment": "\\udfff"}',
        ),
    ],
)
def test_inputs_json_cannot_echo_get_a_clear_error_not_a_500(client, path, raw):
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    if path.endswith("/stream") and r.status_code == 200:  # the error comes as an SSE event
        assert "event: error" in r.text and '"status": 400' in r.text
        return
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]
    assert "\\ud800" not in r.text and "inf" not in r.text.lower()  # the input is not echoed


def test_malformed_json_is_a_bad_request(client):
    r = client.post(
        "/api/chat", content=b'{"question": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["error"]


def test_body_over_the_limit_is_rejected_by_content_length(client, settings):
    body = json.dumps({"question": "保修" * 5000}).encode()
    assert len(body) > settings.max_body_bytes
    r = client.post("/api/chat", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "请求内容过大" in r.json()["error"]


def test_chunked_body_over_the_limit_is_rejected(client):
    def chunks():
        for _ in range(64):
            yield b" " * 1024

    r = client.post("/api/chat", content=chunks(), headers={"content-type": "application/json"})
    assert r.request.headers.get("transfer-encoding") == "chunked"  # no Content-Length to trust
    assert r.status_code == 413 and "请求内容过大" in r.json()["error"]


def test_body_limit_stops_reading_a_chunked_body_at_the_limit():
    """At the ASGI level (the test client buffers whole bodies): the app is never called."""
    import asyncio
    import threading

    from bot.web.limits import BodyLimitMiddleware

    received, sent, called = [], [], []

    async def receive():
        received.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}  # endless

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        called.append(1)

    scope = {"type": "http", "method": "POST", "path": "/api/chat", "headers": []}
    # In its own thread: Playwright's sync API (browser tests) keeps a loop in the main one.
    runner = threading.Thread(
        target=asyncio.run, args=(BodyLimitMiddleware(app, max_bytes=4096)(scope, receive, send),)
    )
    runner.start()
    runner.join(timeout=30)
    assert not called and len(received) == 5
    assert sent[0]["status"] == 413


def test_chunked_body_under_the_limit_is_answered(client):
    body = json.dumps({"question": "奥普浴霸怎么预约安装?"}).encode()
    r = client.post(
        "/api/chat",
        content=iter([body[:10], body[10:]]),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["outcome"] == "answered"


def test_unknown_api_paths_and_methods_are_json(client):
    r = client.get("/api/nope")
    assert r.status_code == 404 and r.json() == {"error": "接口不存在。"}
    r = client.get("/api/chat")
    assert r.status_code == 405 and "不支持" in r.json()["error"]


# -- streaming --------------------------------------------------------------------------------
def test_stream_sends_deltas_then_exactly_one_final(client):
    session = sid()
    with client.stream(
        "POST",
        "/api/chat/stream",
        json={"question": "oppo维修后换的配件保修多久", "session_id": session},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = sse(r.read().decode())
    kinds = [e for e, _ in events]
    assert kinds[-1] == "final" and kinds.count("final") == 1
    assert kinds[:-1] and set(kinds[:-1]) == {"delta"}
    final = events[-1][1]
    assert final["outcome"] == "answered" and final["citations"][0]["doc_id"] == "oppo-warranty"
    assert final["session_id"] == session and final["turn_id"] == f"{session}:1"
    # The widget shows the deltas as they come, then swaps in the final text: they must agree.
    assert "".join(d["text"] for e, d in events if e == "delta") == final["answer"]


def test_stream_records_the_turn_like_chat(client):
    session = sid()
    with client.stream(
        "POST", "/api/chat/stream", json={"question": "客服电话多少?", "session_id": session}
    ) as r:
        assert sse(r.read().decode())[-1][1]["outcome"] == "clarify"
    second = client.post("/api/chat", json={"question": "奥普的", "session_id": session}).json()
    assert second["outcome"] == "answered" and second["turn_id"] == f"{session}:2"


@pytest.mark.parametrize(
    "question, status", [("   ", 400), ("保修" * 300, 413)], ids=["empty", "too-long"]
)
def test_stream_input_errors_are_plain_json(client, question, status):
    r = client.post("/api/chat/stream", json={"question": question})
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/json") and r.json()["error"]


class BreaksMidStream:
    """A fake bot whose stream fails after its first piece (the real one has no such fault)."""

    def __init__(self, settings):
        self.settings = settings

    def stream(self, question, session_id=None, brand=None):
        yield {"event": "delta", "text": "第一句。"}
        raise RuntimeError("disk gone")


def test_a_failure_mid_stream_is_an_error_event(settings):
    from bot.web.server import create_app

    with TestClient(create_app(settings, bot=BreaksMidStream(settings), ui=False)) as c:
        r = c.post("/api/chat/stream", json={"question": "保修多久"})
    assert r.status_code == 200
    events = sse(r.text)
    assert events[0] == ("delta", {"text": "第一句。"})
    assert events[-1][0] == "error" and events[-1][1]["status"] == 500
    assert "服务内部错误" in events[-1][1]["error"]
    assert "final" not in [e for e, _ in events]


# -- tickets ----------------------------------------------------------------------------------
def test_handoff_opens_one_ticket_per_session_and_only_that_session_sees_it(client):
    session = sid()
    client.post("/api/chat", json={"question": "手机屏幕碎了怎么办", "session_id": session})
    r = client.post("/api/tickets", json={"session_id": session, "brand": "oppo"})
    assert r.status_code == 201
    opened = r.json()
    assert opened["ticket_id"].startswith("KF-") and opened["status"] == "open"
    assert opened["session_id"] == session and isinstance(opened["priority"], int)
    assert opened["ticket_id"] in opened["message"]

    again = client.post("/api/tickets", json={"session_id": session, "brand": "oppo"}).json()
    assert again["ticket_id"] == opened["ticket_id"]  # a double click is not a second ticket

    tid = opened["ticket_id"]
    by_query = client.get(f"/api/tickets/{tid}", params={"session_id": session})
    by_header = client.get(f"/api/tickets/{tid}", headers={"X-Kefu-Session": session})
    assert by_query.status_code == by_header.status_code == 200
    ticket = by_query.json()
    assert ticket == by_header.json()
    assert ticket["ticket_id"] == tid and ticket["status"] == "open"
    assert {"category", "priority", "summary", "created_at", "updated_at"} <= set(ticket)
    assert not {"transcript", "contact", "session_id"} & set(ticket)

    foreign = client.get(f"/api/tickets/{tid}", params={"session_id": sid()})
    unknown = client.get("/api/tickets/KF-ZZZZZZ", params={"session_id": session})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()  # another session's ticket looks like no ticket
    assert "未找到该工单" in foreign.json()["error"]


def test_a_conversation_has_one_open_ticket_whatever_asks_for_a_person(client, settings):
    from bot.tickets.store import TicketStore

    session = sid()
    chat = lambda q: client.post("/api/chat", json={"question": q, "session_id": session}).json()  # noqa: E731
    pressed = client.post("/api/tickets", json={"session_id": session, "brand": "oppo"}).json()
    typed = chat("转人工")
    angry = chat("网点修了三次都没修好,我要投诉他们")
    safety = chat("手机电池鼓包了还在发烫")
    assert typed["outcome"] == angry["outcome"] == safety["outcome"] == "escalated"
    assert typed["ticket_id"] == angry["ticket_id"] == safety["ticket_id"] == pressed["ticket_id"]

    store = TicketStore(settings.tickets_db_url)
    mine = [t for t in store.list(limit=500) if t.session_id == session]
    assert [t.ticket_id for t in mine] == [pressed["ticket_id"]]
    ticket = mine[0]
    assert ticket.priority == 1  # raised to the most urgent thing said: the swelling battery
    said = [turn["q"] for turn in ticket.transcript]
    assert said[-3:] == ["转人工", "网点修了三次都没修好,我要投诉他们", "手机电池鼓包了还在发烫"]
    assert len(said) == len(set(said))  # each turn once, however many escalations joined

    store.close(ticket.ticket_id)  # once a person closes it, a new request opens a new one
    after = chat("我还是要找人工")
    assert after["ticket_id"] and after["ticket_id"] != ticket.ticket_id


def test_a_retried_ticket_request_with_its_idempotency_key_gets_the_same_ticket(client, settings):
    from bot.tickets.store import TicketStore

    store = TicketStore(settings.tickets_db_url)
    first_session, key = sid(), f"retry-{uuid.uuid4().hex}"
    post = lambda s, k: client.post(  # noqa: E731
        "/api/tickets", json={"session_id": s}, headers={"Idempotency-Key": k}
    )
    first = post(first_session, key).json()
    store.close(first["ticket_id"])  # even after it was closed, a retry is the same request
    assert post(first_session, key).json()["ticket_id"] == first["ticket_id"]
    assert post(first_session, "another-request").json()["ticket_id"] != first["ticket_id"]
    # Three sessions sharing a key are three customers: three tickets.
    others = {post(sid(), key).json()["ticket_id"] for _ in range(2)}
    assert len(others | {first["ticket_id"]}) == 3
    bad = client.post(
        "/api/tickets", json={"session_id": sid()}, headers={"Idempotency-Key": "x" * 201}
    )
    assert bad.status_code == 422


def test_the_contact_field_keeps_only_a_phone_or_email_and_refuses_anything_else(client, settings):
    from bot.tickets.store import TicketStore

    store = TicketStore(settings.tickets_db_url)
    session = sid()
    body = {"session_id": session, "contact": "身份证 11010519491231002X", "consent": True}
    refused = client.post("/api/tickets", json=body)
    assert refused.status_code == 422 and "手机号" in refused.json()["error"]
    assert "11010519491231002X" not in refused.text
    assert store.open_for(session) is None  # nothing half-written

    body["contact"] = "电话 (139) 8867-4667 下午打"
    opened = client.post("/api/tickets", json=body).json()
    ticket = store.get(opened["ticket_id"])
    assert ticket.contact == "13988674667" and ticket.consent


def test_contact_given_with_the_button_reaches_the_ticket_a_complaint_opened(client, settings):
    from bot.tickets.store import TicketStore

    session = sid()
    complaint = client.post(
        "/api/chat", json={"question": "我要投诉,修了两次还是坏", "session_id": session}
    ).json()
    body = {"session_id": session, "contact": "138 1234 5678", "consent": True}
    pressed = client.post("/api/tickets", json=body).json()
    assert pressed["ticket_id"] == complaint["ticket_id"]
    ticket = TicketStore(settings.tickets_db_url).get(pressed["ticket_id"])
    assert (ticket.contact, ticket.consent) == ("13812345678", True)


def test_ticket_lookup_needs_a_session(client):
    r = client.get("/api/tickets/KF-ZZZZZZ")
    assert r.status_code == 400 and "会话" in r.json()["error"]


def test_ticket_request_is_validated(client):
    r = client.post("/api/tickets", json={"brand": "oppo"})
    assert r.status_code == 422 and "session_id" in r.json()["error"]


# -- feedback ---------------------------------------------------------------------------------
def test_feedback_is_stored_updated_and_scoped_to_the_session(client, settings):
    from bot.feedback import FeedbackStore

    session = f"{sid()}:web"  # ids may hold colons, as the UI's "ui:<hash>" do
    answer = client.post(
        "/api/chat", json={"question": "奥普浴霸怎么预约安装?", "session_id": session}
    ).json()
    turn = answer["turn_id"]
    store = FeedbackStore(settings.tickets_db_url)

    r = client.post("/api/feedback", json={"session_id": session, "turn_id": turn, "rating": "up"})
    assert r.status_code == 201 and r.json()["rating"] == "up"
    assert store.get(session, turn).rating == "up"

    r = client.post(
        "/api/feedback",
        json={
            "session_id": session,
            "turn_id": turn,
            "rating": "down",
            "comment": "没说清楚,回电 13812345678",
        },
    )
    assert r.status_code == 201
    saved = store.get(session, turn)
    assert saved.rating == "down" and "13812345678" not in saved.comment  # masked
    assert [f.turn_id for f in store.list(limit=1000)].count(turn) == 1  # updated, not added

    for other_session, other_turn in [
        (sid(), turn),  # someone else's turn
        (session.rsplit(":", 1)[0], turn),  # a prefix of the owner's session id
        (session, f"{session}:x"),
    ]:
        r = client.post(
            "/api/feedback",
            json={"session_id": other_session, "turn_id": other_turn, "rating": "up"},
        )
        assert r.status_code == 404 and "未找到这条回答" in r.json()["error"]
    assert store.get(session, turn).rating == "down"


def test_feedback_rating_is_validated(client):
    r = client.post("/api/feedback", json={"session_id": "s", "turn_id": "s:1", "rating": "meh"})
    assert r.status_code == 422 and "rating" in r.json()["error"]


# -- limits, CORS, loading ------------------------------------------------------------------
def test_rate_limit_per_client_ip_answers_429_in_chinese(real_bot, settings):
    from bot.web.server import create_app

    limited = settings.model_copy(update={"rate_limit": "2/minute"})
    with TestClient(create_app(limited, bot=real_bot, ui=False)) as c:
        assert c.post("/api/chat", json={"question": "你好", "session_id": "a1"}).status_code == 200
        assert c.post("/api/chat", json={"question": "你好", "session_id": "a2"}).status_code == 200
        r = c.post("/api/chat", json={"question": "你好", "session_id": "a3"})
        assert r.status_code == 429
        assert r.json() == {"error": "请求太频繁,请稍后再试。"}
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # Every limited route shares the budget; health and the widget do not count.
        assert (
            c.post(
                "/api/feedback", json={"session_id": "a1", "turn_id": "a1:1", "rating": "up"}
            ).status_code
            == 429
        )
        assert c.get("/healthz").status_code == 200


def test_rate_limit_per_session_holds_across_client_ips():
    from bot.web.limits import RateLimited, RateLimiter

    limiter = RateLimiter("2/minute")
    limiter.check("10.0.0.1", "s1")
    limiter.check("10.0.0.2", "s1")
    with pytest.raises(RateLimited) as e:
        limiter.check("10.0.0.3", "s1")  # a fresh IP, but the session is spent
    assert e.value.retry_after >= 1
    limiter.check("10.0.0.3", "s2")  # that IP's first request of another session passes


def test_cors_allows_only_the_configured_origins(real_bot, settings):
    from bot.web.server import create_app

    shop = "https://shop.example.com"
    allowed = settings.model_copy(update={"cors_origins": [shop]})
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-kefu-session",
    }
    with TestClient(create_app(allowed, bot=real_bot, ui=False)) as c:
        ok = c.options("/api/chat", headers={"Origin": shop, **preflight})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == shop
        assert "x-kefu-session" in ok.headers["access-control-allow-headers"].lower()
        bad = c.options("/api/chat", headers={"Origin": "https://evil.example", **preflight})
        assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
        r = c.post(
            "/api/chat", json={"question": "你好"}, headers={"Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in r.headers
        r = c.post("/api/chat", json={"question": "你好"}, headers={"Origin": shop})
        assert r.headers["access-control-allow-origin"] == shop


def test_no_cors_origins_means_same_origin_only(client):
    r = client.post(
        "/api/chat", json={"question": "你好"}, headers={"Origin": "https://shop.example.com"}
    )
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_503_while_the_bot_is_not_loaded(tmp_path):
    from bot.web.server import create_app

    empty = make_settings(tmp_path / "data")  # no index here: loading fails, and says why
    with TestClient(create_app(empty, ui=False)) as c:
        for _ in range(300):
            health = c.get("/healthz")
            if "索引不存在" in health.json()["error"]:
                break
            assert health.status_code == 503 and "加载" in health.json()["error"]
            time.sleep(0.1)
        assert health.status_code == 503 and "索引不存在" in health.json()["error"]
        r = c.post("/api/chat", json={"question": "保修多久"})
        assert r.status_code == 503 and "索引不存在" in r.json()["error"]
        r = c.post("/api/chat/stream", json={"question": "保修多久"})
        assert r.status_code == 503 and r.headers["content-type"].startswith("application/json")


# -- widget, docs, UI -------------------------------------------------------------------------
def test_widget_js_is_cached_and_revalidated(client):
    r = client.get("/widget.js")
    assert r.status_code == 200 and r.text == WIDGET_JS
    assert r.headers["content-type"] == "application/javascript; charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=3600"
    etag = r.headers["etag"]
    again = client.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    stale = client.get("/widget.js", headers={"If-None-Match": '"something-else"'})
    assert stale.status_code == 200


def test_widget_demo_page_is_served(client):
    r = client.get("/widget/demo")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "/widget.js" in r.text


def test_missing_widget_files_are_a_json_404(real_bot, settings, tmp_path):
    from bot.web.server import create_app

    with TestClient(create_app(settings, bot=real_bot, static_dir=tmp_path, ui=False)) as c:
        for path in ("/widget.js", "/widget/demo"):
            r = c.get(path)
            assert r.status_code == 404 and r.json()["error"]


def test_openapi_docs_are_not_shadowed_by_the_ui(client):
    assert client.get("/docs").status_code == 200 and "swagger" in client.get("/docs").text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/api/chat",
        "/api/chat/stream",
        "/api/tickets",
        "/api/tickets/{ticket_id}",
        "/api/feedback",
    } <= set(paths)


def test_gradio_ui_is_served_at_root_with_its_stable_labels(client):
    r = client.get("/")
    assert r.status_code == 200 and "gradio" in r.text.lower()
    config = client.get("/config").text
    # the product choice and the examples come from the company profile (knowledge/kefu.yaml)
    for label in ("转人工", "发送", "请输入您的售后问题…", "全部", "奥普(AUPU)浴霸", "OPPO 手机"):
        assert label in config


# -- the UI's behaviour, without a browser ----------------------------------------------------
@pytest.fixture
def chat_ui(real_bot, settings, tmp_path):
    import gradio as gr

    from bot.feedback import FeedbackStore
    from bot.web.api import Runtime
    from bot.web.limits import RateLimiter
    from bot.web.ui import ChatUI

    rt = Runtime(
        settings=settings,
        limiter=RateLimiter(settings.rate_limit),
        bot=real_bot,
        feedback=FeedbackStore(f"sqlite:///{tmp_path / 'fb.db'}"),
    )
    brands = {"全部": None, "OPPO 手机": "oppo", "奥普(AUPU)浴霸": "aupu"}
    return ChatUI(rt, brands), gr.Request(session_hash=uuid.uuid4().hex)


def test_ui_streams_an_answer_with_sources_badge_and_turn(chat_ui):
    ui, request = chat_ui
    steps = list(ui.respond("维修后换的配件保修多久", [], {}, "OPPO 手机", request))
    assert len(steps) >= 3  # the question at once, then the pieces, then the final answer
    box, history, turns = steps[-1]
    assert box == "" and [m["role"] for m in history] == ["user", "assistant"]
    final = history[-1]["content"]
    assert "90天" in final and "✅ 已解答" in final and "<details>" in final
    assert "OPPO 手机保修政策" in final
    assert turns == {1: f"ui:{request.session_hash}:1"}


def test_ui_feedback_and_handoff(chat_ui):
    import gradio as gr

    ui, request = chat_ui
    *_, (_, history, turns) = ui.respond("奥普浴霸怎么预约安装?", [], {}, "全部", request)
    session = f"ui:{request.session_hash}"
    ui.like(turns, gr.LikeData(None, {"index": 1, "value": [], "liked": False}), request)
    assert ui.rt.feedback.get(session, turns[1]).rating == "down"
    ui.like(turns, gr.LikeData(None, {"index": 1, "value": [], "liked": ""}), request)
    assert ui.rt.feedback.get(session, turns[1]) is None  # clicked again: vote withdrawn

    history, turns = ui.handoff(history, turns, "奥普(AUPU)浴霸", request)
    assert history[-2] == {"role": "user", "content": "转人工"}
    assert "🙋 已转人工" in history[-1]["content"] and "KF-" in history[-1]["content"]
    assert set(turns) == {1}


def test_ui_input_errors_are_shown_in_the_chat(chat_ui):
    ui, request = chat_ui
    *_, (_, history, _) = ui.respond("保修" * 300, [], {}, "全部", request)
    assert "问题过长" in history[-1]["content"]


def test_render_escapes_knowledge_and_user_text():
    from bot.types import Answer, Citation
    from bot.web.ui import render

    out = render(
        Answer(
            outcome="answered",
            text="<img src=x onerror=alert(1)>",
            citations=[Citation("d", "<b>t</b>", "<s>", "<script>x</script>")],
        )
    )
    assert "<img" not in out and "<script>" not in out and "<b>t</b>" not in out
    assert "&lt;script&gt;" in out and "✅ 已解答" in out
