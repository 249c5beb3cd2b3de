"""A generated PII run through the web API, then every place it could land is scanned:
the SQLite file and its WAL, the chat log and the server log hold no raw value."""

from __future__ import annotations

import logging
import unicodedata
import uuid

import pytest
from fastapi.testclient import TestClient

from tests import pii_values as pv
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

KINDS = (("mobile", pv.mobile), ("id", pv.idcard), ("card", pv.card), ("imei", pv.imei))
TEMPLATES = (
    "我的信息是{},麻烦查一下保修",
    "{} 这是我的号码,手机屏幕碎了怎么办",
    "我要投诉!联系我:{}",
)


def _digits(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if c.isdigit() or c in "Xx").upper()


@pytest.fixture
def run(real_index, real_embedder, tmp_path, caplog):
    from bot.factory import build_bot
    from bot.tickets.store import TicketStore
    from bot.web.server import create_app

    settings = make_settings(
        real_index,
        chat_log=tmp_path / "chat.jsonl",
        tickets_url=f"sqlite:///{tmp_path / 'tickets.db'}",
        rate_limit="100000/minute",
    )
    tickets = TicketStore(settings.tickets_db_url)
    bot = build_bot(settings, embedder=real_embedder, tickets=tickets)
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings, bot=bot)) as client:
        yield client, tmp_path, caplog


def test_no_raw_pii_value_is_stored_or_logged_in_any_format(run):
    client, tmp, caplog = run
    values: list[str] = []
    sent = 0
    for kind, make in KINDS:
        value = make()
        values.append(value)
        formats = pv.formats(kind, value)
        assert len(formats) >= 16, kind
        for i, shape in enumerate(formats):
            sid = f"pii-{uuid.uuid4().hex[:8]}"
            text = TEMPLATES[i % len(TEMPLATES)].format(shape)
            assert (
                client.post("/api/chat", json={"question": text, "session_id": sid}).status_code
                == 200
            )
            if i % 5 == 0:  # the handoff copies the transcript into the ticket
                assert client.post("/api/tickets", json={"session_id": sid}).status_code == 201
            sent += 1
        # a free-text contact that is an ID or a card is refused, never stored
        if kind in ("id", "card"):
            sid = f"pii-{uuid.uuid4().hex[:8]}"
            client.post("/api/chat", json={"question": "转人工", "session_id": sid})
            r = client.post(
                "/api/tickets", json={"session_id": sid, "contact": formats[0], "consent": True}
            )
            assert r.status_code == 422
    mails = pv.emails()
    for shape in mails:
        sid = f"pii-{uuid.uuid4().hex[:8]}"
        client.post(
            "/api/chat", json={"question": f"邮箱 {shape} 联系我,我要投诉", "session_id": sid}
        )
        client.post("/api/tickets", json={"session_id": sid})
        sent += 1
    assert sent >= 90

    places = {
        "tickets.db": tmp / "tickets.db",
        "tickets.db-wal": tmp / "tickets.db-wal",
        "chat log": tmp / "chat.jsonl",
    }
    texts = {
        name: path.read_bytes().decode("utf-8", "ignore")
        for name, path in places.items()
        if path.exists()
    }
    texts["server log"] = caplog.text
    assert "tickets.db" in texts and texts["chat log"]
    local = mails[0].split("@")[0].lower()
    found = [
        (name, value) for name, text in texts.items() for value in values if value in _digits(text)
    ] + [(name, local) for name, text in texts.items() if local in text.lower()]
    assert found == []
