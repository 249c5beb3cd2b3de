"""The HTTP API over the real bot: the JSON contract and clear errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(real_bot):
    from bot.web.server import create_app

    with TestClient(create_app(bot=real_bot)) as c:
        yield c


def test_healthz_reports_the_loaded_index(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["chunks"] > 100


def test_chat_returns_the_contract_with_a_session(client):
    r = client.post("/api/chat", json={"question": "oppo维修后换的配件保修多久"})
    assert r.status_code == 200
    body = r.json()
    assert {
        "outcome",
        "answer",
        "citations",
        "confidence",
        "ticket_id",
        "latency_ms",
        "session_id",
    } <= set(body)
    assert body["outcome"] == "answered" and "90天" in body["answer"]
    assert body["citations"][0]["doc_id"] == "oppo-warranty"


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
        ({"question": "保修" * 2000}, 413, "问题过长"),
        ({"question": "保修多久", "brand": "huawei"}, 422, None),
        ({}, 422, None),
    ],
)
def test_bad_requests_get_clear_json_errors(client, body, status, message):
    r = client.post("/api/chat", json=body)
    assert r.status_code == status
    if message:
        assert message in r.json()["error"]


def test_gradio_ui_is_served_at_root(client):
    r = client.get("/")
    assert r.status_code == 200 and "gradio" in r.text.lower()
