"""Limits that hold: whose address a request counts against, the Gradio routes under the same
limits as /api, and the security headers. No model loads: the apps run without their lifespan."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from pydantic_settings import SettingsError

from tests.conftest import make_settings

WIDGET_JS = "window.kefuWidget = function () {};\n"
DEMO_HTML = "<!doctype html><title>demo</title><script src='/widget.js'></script>\n"
LIMITED = {"error": "请求太频繁,请稍后再试。"}
QUEUE_JOIN = "/gradio_api/queue/join"


def feedback(c: TestClient, session: str, **headers) -> int:
    """One rate-limited /api request (checked before anything else), in a session of its own."""
    body = {"session_id": session, "turn_id": f"{session}:1", "rating": "up"}
    return c.post("/api/feedback", json=body, headers=headers).status_code


@pytest.fixture
def api_app(tmp_path):
    """An app without the UI whose clients get one rate-limited request a minute."""

    def make(**kw):
        from bot.web.server import create_app

        return create_app(make_settings(tmp_path / "data", rate_limit="1/minute", **kw), ui=False)

    return make


@pytest.fixture(scope="module")
def ui_app(tmp_path_factory):
    """The full app, Gradio mounted at /, with 2 writes a minute per client; each test talks
    from an address of its own, so the tests do not share a budget."""
    from bot.web.server import create_app

    static = tmp_path_factory.mktemp("static")
    (static / "widget.js").write_text(WIDGET_JS, encoding="utf-8")
    (static / "demo.html").write_text(DEMO_HTML, encoding="utf-8")
    settings = make_settings(
        tmp_path_factory.mktemp("data"), rate_limit="2/minute", max_body_bytes=2048
    )
    return create_app(settings, static_dir=static)


def client_at(app, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))  # no `with`: no lifespan, nothing loads


# -- the client address -------------------------------------------------------------------
def test_forwarded_headers_do_not_pick_the_bucket_without_trusted_proxies(api_app):
    c = client_at(api_app(), "203.0.113.7")
    assert feedback(c, "s1", **{"X-Forwarded-For": "198.51.100.1"}) != 429
    # Another address claimed in either header is still the same peer, the same budget.
    assert feedback(c, "s2", **{"X-Forwarded-For": "198.51.100.2"}) == 429
    assert feedback(c, "s3", **{"X-Real-IP": "198.51.100.3"}) == 429


def test_a_trusted_proxy_names_the_client(api_app):
    app = api_app(trusted_proxies=["127.0.0.1", "10.0.0.0/8"])
    proxy = client_at(app, "10.1.2.3")
    assert feedback(proxy, "s1", **{"X-Forwarded-For": "198.51.100.1"}) != 429
    assert feedback(proxy, "s2", **{"X-Forwarded-For": "198.51.100.2"}) != 429  # another client
    # Right to left past trusted hops: what the client wrote to the left of its own address
    # (a spoofed entry) does not matter, nor how many trusted proxies the request went through.
    assert feedback(proxy, "s3", **{"X-Forwarded-For": "192.0.2.9, 198.51.100.1"}) == 429
    assert feedback(proxy, "s4", **{"X-Forwarded-For": "198.51.100.2, 10.0.0.1"}) == 429
    assert feedback(client_at(app, "127.0.0.1"), "s5", **{"X-Forwarded-For": "198.51.100.3"}) != 429
    # A peer that is no trusted proxy is the client, whatever it forwards.
    direct = client_at(app, "203.0.113.7")
    assert feedback(direct, "s6", **{"X-Forwarded-For": "198.51.100.4"}) != 429
    assert feedback(direct, "s7", **{"X-Forwarded-For": "198.51.100.5"}) == 429


@pytest.mark.parametrize("value", ['["10.0.0.1/8"]', '["proxy.internal"]', '["*"]'])
def test_an_invalid_trusted_proxy_is_refused_at_start(monkeypatch, value):
    from bot.settings import Settings

    monkeypatch.setenv("KEFU_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError) as e:
        Settings(_env_file=None)
    assert "trusted_proxies" in str(e.value) and "CIDR network" in str(e.value)


def test_trusted_proxies_must_be_a_json_list(monkeypatch):
    from bot.settings import Settings

    monkeypatch.setenv("KEFU_TRUSTED_PROXIES", "10.0.0.1,10.0.0.2")
    with pytest.raises(SettingsError, match="trusted_proxies"):
        Settings(_env_file=None)
    monkeypatch.setenv("KEFU_TRUSTED_PROXIES", '[" 10.0.0.1 ", "fd00::/8"]')
    assert Settings(_env_file=None).trusted_proxies == ["10.0.0.1/32", "fd00::/8"]


# -- the Gradio routes under the same limits ----------------------------------------------
def test_gradio_writes_are_rate_limited_per_client_and_share_the_api_budget(ui_app):
    c = client_at(ui_app, "203.0.113.20")
    for _ in range(2):
        r = c.post(QUEUE_JOIN, json={}, headers={"X-Forwarded-For": "198.51.100.9"})
        assert r.status_code != 429
    r = c.post(QUEUE_JOIN, json={}, headers={"X-Forwarded-For": "198.51.100.10"})
    assert r.status_code == 429 and r.json() == LIMITED
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert c.post("/gradio_api/upload", files={"files": ("a.txt", b"x")}).status_code == 429
    assert feedback(c, "s1") == 429  # one budget per client, whichever door it uses
    assert c.get("/").status_code == 200  # reads do not count: the page still loads
    assert client_at(ui_app, "203.0.113.21").post(QUEUE_JOIN, json={}).status_code != 429


def test_gradio_bodies_are_limited_but_a_long_chat_fits(ui_app):
    settings = ui_app.state.runtime.settings
    # A client each: every write counts against the rate limit, 413s included.
    clients = (client_at(ui_app, f"203.0.113.{i}") for i in range(30, 40))
    over = next(clients).post(QUEUE_JOIN, content=b"x" * (settings.ui_max_body_bytes + 1))
    assert over.status_code == 413 and "上限" in over.json()["error"]

    def chunks():
        for _ in range(settings.ui_max_body_bytes // 1024 + 1):
            yield b"x" * 1024

    assert next(clients).post(QUEUE_JOIN, content=chunks()).status_code == 413  # no length
    # A transcript with its sources is larger than an /api body may be, and still gets in.
    history = "x" * (settings.max_body_bytes * 4)
    body = {"data": [history], "fn_index": 0, "session_hash": "h"}
    assert next(clients).post(QUEUE_JOIN, json=body).status_code == 200
    api = next(clients).post("/api/chat", content=b"x" * (settings.max_body_bytes + 1))
    assert api.status_code == 413  # /api keeps its own, tighter limit


def test_the_gradio_page_loads_and_takes_events(ui_app):
    c = client_at(ui_app, "203.0.113.40")
    page = c.get("/")
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert c.get("/config").status_code == 200
    joined = c.post(QUEUE_JOIN, json={"data": ["你好"], "fn_index": 0, "session_hash": "h1"})
    assert joined.status_code == 200 and joined.json()["event_id"]


# -- security headers ---------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/chat", "/healthz", "/", "/widget.js", "/widget/demo"])
def test_every_response_is_nosniff_with_a_referrer_policy(ui_app, path):
    r = client_at(ui_app, "203.0.113.50").get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_html_pages_refuse_to_be_framed_with_a_csp_gradio_can_live_with(ui_app, path):
    r = client_at(ui_app, "203.0.113.51").get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.headers["x-frame-options"] == "DENY"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    # Gradio's page runs inline scripts and styles: nothing may restrict where they come from.
    assert "script-src" not in csp and "style-src" not in csp and "default-src" not in csp


def test_the_widget_and_its_demo_stay_embeddable(ui_app):
    c = client_at(ui_app, "203.0.113.52")
    js = c.get("/widget.js", headers={"Origin": "https://shop.example.com"})
    assert js.status_code == 200 and js.text == WIDGET_JS
    assert js.headers["content-type"].startswith("application/javascript")
    for header in ("x-frame-options", "content-security-policy", "cross-origin-resource-policy"):
        assert header not in js.headers
    demo = c.get("/widget/demo")
    assert demo.status_code == 200 and demo.headers["content-type"].startswith("text/html")
    assert "x-frame-options" not in demo.headers and "content-security-policy" not in demo.headers


def test_errors_carry_the_headers_too(ui_app, api_app):
    c = client_at(ui_app, "203.0.113.53")
    r = c.post("/api/chat", content=b"x" * 4096)
    assert r.status_code == 413 and r.headers["x-content-type-options"] == "nosniff"
    limited = client_at(api_app(), "203.0.113.54")
    feedback(limited, "s1")
    r = limited.post("/api/feedback", json={"session_id": "s2", "turn_id": "s2:1", "rating": "up"})
    assert r.status_code == 429 and r.headers["x-content-type-options"] == "nosniff"


def test_every_gradio_write_route_counts(ui_app):
    """Gradio's API routes (one per event handler) answer 429 once the budget is spent too."""
    c = client_at(ui_app, "203.0.113.60")
    c.post("/gradio_api/reset", json={})
    c.post("/gradio_api/reset", json={})
    for path in ("/gradio_api/run/respond", "/gradio_api/call/handoff", "/gradio_api/cancel"):
        assert c.post(path, json={}).status_code == 429, path
