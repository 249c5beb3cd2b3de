"""Tickets in a real SQLite database: idempotent, scoped to their session, private by default."""

from __future__ import annotations

import re
import sqlite3

import pytest

from bot.tickets.priority import level_for
from bot.tickets.store import TicketStore
from tests.conftest import KNOWLEDGE, create_ticket

COMPLAINT_DOC = KNOWLEDGE / "docs" / "oppo-complaint-process.md"


def _store(tmp_path):
    return TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")


_create = create_ticket


def _raw(tmp_path, sql: str):
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        return db.execute(sql).fetchall()


# -- the existing contract ---------------------------------------------------------------
def test_same_key_returns_the_same_ticket(tmp_path):
    store = _store(tmp_path)
    first = _create(store)
    again = _create(store, category="complaint")  # a retried request, however it differs
    assert again.ticket_id == first.ticket_id and again.category == "human"
    assert len(store.list()) == 1


def test_other_sessions_cannot_read_a_ticket(tmp_path):
    store = _store(tmp_path)
    t = _create(store)
    assert store.get(t.ticket_id, session_id="s1").ticket_id == t.ticket_id
    assert store.get(t.ticket_id.lower(), session_id="s1").ticket_id == t.ticket_id
    assert store.get(t.ticket_id, session_id="intruder") is None
    assert store.get("KF-ZZZZZZ") is None


def test_close_and_list(tmp_path):
    store = _store(tmp_path)
    t = _create(store)
    assert store.close(t.ticket_id).status == "closed"
    assert store.list(status="open") == []
    assert [x.ticket_id for x in store.list(status="closed")] == [t.ticket_id]
    assert store.close("KF-ZZZZZZ") is None


def test_wal_and_full_sync_are_on(tmp_path):
    store = _store(tmp_path)
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


# -- contact details and consent ---------------------------------------------------------
def test_contact_is_dropped_without_consent(tmp_path):
    store = _store(tmp_path)
    t = _create(store, contact="13800138000")
    assert t.contact is None and t.consent is False
    assert _raw(tmp_path, "SELECT contact, consent FROM tickets") == [(None, 0)]


def test_contact_is_kept_with_consent(tmp_path):
    store = _store(tmp_path)
    t = _create(store, contact=" 13800138000 ", consent=True, brand="oppo")
    assert (t.contact, t.consent, t.brand) == ("13800138000", True, "oppo")
    assert store.get(t.ticket_id).contact == "13800138000"


def test_contact_given_after_the_ticket_exists(tmp_path):
    store = _store(tmp_path)
    t = _create(store)
    later = store.update_contact(t.ticket_id, "s1", "微信 kefu_user", consent=True)
    assert later.contact == "微信 kefu_user" and later.consent
    assert later.updated_at >= t.updated_at
    assert store.get(t.ticket_id).contact == "微信 kefu_user"


def test_another_session_cannot_change_the_contact(tmp_path):
    store = _store(tmp_path)
    t = _create(store, contact="13800138000", consent=True)
    assert store.update_contact(t.ticket_id, "intruder", "13900000000", consent=True) is None
    assert store.get(t.ticket_id).contact == "13800138000"


def test_withdrawing_consent_erases_the_contact(tmp_path):
    store = _store(tmp_path)
    t = _create(store, contact="13800138000", consent=True)
    assert store.update_contact(t.ticket_id, "s1", "13800138000", consent=False).contact is None
    assert _raw(tmp_path, "SELECT contact, consent FROM tickets") == [(None, 0)]


# -- priority ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "category, priority, label",
    [
        ("safety", 1, "安全隐患"),
        ("complaint", 2, "重大投诉"),
        ("billing", 3, "复杂问题"),
        ("human", 4, "常规问题"),
        ("low_confidence", 4, "常规问题"),
        ("unresolved", 4, "常规问题"),
        ("number_guard", 4, "常规问题"),
        ("trigger:safety", 1, "安全隐患"),
    ],
)
def test_ticket_priority_follows_its_category(tmp_path, category, priority, label):
    assert level_for(category).priority == priority
    t = _create(_store(tmp_path), category=category)
    assert (t.priority, t.priority_label) == (priority, label)


def test_response_times_are_quoted_from_the_knowledge_base():
    from bot.profile import load_profile

    profile = load_profile(KNOWLEDGE)
    doc = COMPLAINT_DOC.read_text(encoding="utf-8")
    assert [t.priority for t in profile.tiers] == [2, 3, 4]
    for t in profile.tiers:
        assert t.doc == COMPLAINT_DOC.stem
        assert t.response in doc  # verbatim, not paraphrased
        for figure in re.findall(r"\d+", t.response + t.response_en):
            assert figure in doc
    # the tiers: complaints get headquarters in 24h, billing the technical team in 2h
    tier = lambda category: profile.tier(level_for(category).priority, "oppo")  # noqa: E731
    assert "24小时" in tier("complaint").response
    assert "2小时" in tier("billing").response
    assert "30分钟" in tier("human").response
    # published for one product only: never quoted for another
    assert profile.tier(2, "aupu") is None


def test_safety_has_no_invented_response_time():
    from bot.profile import load_profile

    assert load_profile(KNOWLEDGE).tier(level_for("safety").priority, "oppo") is None


def test_an_explicit_priority_must_be_a_real_level(tmp_path):
    store = _store(tmp_path)
    assert _create(store, priority=1).priority_label == "安全隐患"
    with pytest.raises(ValueError):
        _create(store, key="s1:1", priority=7)


# -- one open ticket per conversation ----------------------------------------------------
def test_the_database_refuses_a_second_open_ticket_for_a_conversation(tmp_path):
    store = _store(tmp_path)
    t = _create(store, join_open=True)
    row = (
        "INSERT INTO tickets (ticket_id, idempotency_key, session_id, category, priority, "
        "summary, transcript, status, created_at, updated_at, consent, join_open, "
        "webhook_attempts) VALUES ('KF-{0}', '{0}', 's1', 'human', 4, 'x', '[]', '{1}', "
        "'2026-11-01 08:00:00', '2026-11-01 08:00:00', 0, {2}, 0)"
    )
    with pytest.raises(sqlite3.IntegrityError):  # another process, without our lock
        _raw(tmp_path, row.format("RACER1", "open", 1))
    _raw(tmp_path, row.format("CLOSED1", "closed", 1))  # closed ones do not count
    _raw(tmp_path, row.format("PLAIN11", "open", 0))  # nor tickets opened without join_open
    store.close(t.ticket_id)
    _raw(tmp_path, row.format("NEXT111", "open", 1))  # after a close, a new one may open


def test_tickets_opened_without_join_open_are_not_limited(tmp_path):
    store = _store(tmp_path)
    a, b = _create(store, key="s1:0"), _create(store, key="s1:1")
    assert a.ticket_id != b.ticket_id and len(store.list(status="open")) == 2


def test_the_index_is_partial_on_postgresql_too():
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    from bot.tickets.store import ONE_OPEN_INDEX

    ddl = str(CreateIndex(ONE_OPEN_INDEX).compile(dialect=postgresql.dialect()))
    assert ddl == (
        "CREATE UNIQUE INDEX ux_tickets_open_conversation ON tickets (session_id) "
        "WHERE status = 'open' AND join_open = true"
    )


def test_listeners_hear_of_new_tickets_and_rises_not_of_other_joins(tmp_path):
    store = _store(tmp_path)
    heard = []
    store.subscribe(lambda t: heard.append((t.ticket_id, t.priority)))
    t = _create(store, join_open=True)
    _create(store, key="s1:1", join_open=True)  # 转人工 again: same priority
    _create(store, key="s1:2", category="safety", join_open=True)
    _create(store, key="s1:3", category="complaint", join_open=True)  # less urgent
    _create(store, key="s1:0", category="safety", join_open=True)  # an idempotent repeat
    assert heard == [(t.ticket_id, 4), (t.ticket_id, 1)]


# -- upgrading a database written by the first release -----------------------------------
OLD_SCHEMA = """
CREATE TABLE tickets (
    id INTEGER NOT NULL,
    ticket_id VARCHAR(16) NOT NULL,
    idempotency_key VARCHAR(200) NOT NULL,
    session_id VARCHAR(200) NOT NULL,
    category VARCHAR(40) NOT NULL,
    priority INTEGER NOT NULL,
    summary TEXT NOT NULL,
    transcript TEXT NOT NULL,
    contact TEXT,
    status VARCHAR(20) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (ticket_id),
    UNIQUE (idempotency_key)
);
CREATE INDEX ix_tickets_session_id ON tickets (session_id);
INSERT INTO tickets VALUES (1, 'KF-OLD111', 's9:0', 's9', 'human', 3, '我要转人工',
    '[{"q": "我要转人工"}]', NULL, 'open', '2026-11-01 08:00:00.000000',
    '2026-11-01 08:00:00.000000');
INSERT INTO tickets VALUES (2, 'KF-OLD222', 's9:1', 's9', 'billing', 2, '多扣了钱',
    '[{"q": "多扣了钱"}]', NULL, 'closed', '2026-11-02 08:00:00.000000',
    '2026-11-02 09:00:00.000000');
"""


def test_a_database_from_the_first_release_is_upgraded_in_place(tmp_path):
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        db.executescript(OLD_SCHEMA)

    store = _store(tmp_path)

    cols = {r[1] for r in _raw(tmp_path, "PRAGMA table_info(tickets)")}
    assert {"consent", "brand", "webhook_state", "webhook_attempts", "webhook_next_at"} <= cols
    old = store.get("KF-OLD111", session_id="s9")
    assert old.summary == "我要转人工" and old.transcript == [{"q": "我要转人工"}]
    assert old.created_at == "2026-11-01T08:00:00+00:00"
    assert old.consent is False and old.contact is None and old.brand is None
    # the first release's numbers (human 3, billing 2) become this release's levels
    assert (old.priority, old.priority_label) == (4, "常规问题")
    assert store.get("KF-OLD222").priority_label == "复杂问题"
    assert store.get("KF-OLD222").status == "closed"
    # old tickets are not suddenly pushed to a helpdesk that never expected them
    assert old.webhook_state is None
    new = _create(store, key="s9:2", session="s9", contact="13800138000", consent=True)
    assert new.contact == "13800138000" and new.webhook_state == "pending"
    assert _create(store, key="s9:0", session="s9").ticket_id == "KF-OLD111"  # old keys hold

    # the old tickets are outside the one-open-ticket index; a join still finds them
    indexes = {r[1] for r in _raw(tmp_path, "PRAGMA index_list(tickets)")}
    assert "ux_tickets_open_conversation" in indexes
    assert _raw(tmp_path, "SELECT DISTINCT join_open FROM tickets WHERE id <= 2") == [(0,)]
    joined = _create(store, key="s9:3", session="s9", category="safety", join_open=True)
    assert joined.ticket_id == new.ticket_id and joined.priority == 1

    # opening it again changes nothing
    TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")
    assert store.get("KF-OLD111").priority == 4
    assert _raw(tmp_path, "PRAGMA integrity_check") == [("ok",)]


# -- the staff CLI -----------------------------------------------------------------------
def test_cli_lists_shows_and_closes_tickets(tmp_path, monkeypatch, capsys):
    import json

    from bot.cli import main

    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEFU_TICKETS_URL", raising=False)
    store = _store(tmp_path)
    t = _create(store, category="complaint", contact="13800138000", consent=True, brand="oppo")
    _create(store, key="s2:0", session="s2", contact="13900000000")

    assert main(["tickets", "list"]) == 0
    out = capsys.readouterr()
    header, *lines = out.out.splitlines()
    assert header.split("\t")[:3] == ["ticket_id", "status", "stage"]
    assert len(lines) == 2 and "1-2 of 2 ticket(s)" in out.err
    assert lines[0].startswith(t.ticket_id)  # the complaint is more urgent: listed first
    mine = next(x for x in lines if x.startswith(t.ticket_id)).split("\t")
    assert "P2 重大投诉" in mine and "13800138000" in mine and "webhook:pending" in mine
    assert "13900000000" not in "\n".join(lines)  # no consent, never shown

    assert main(["tickets", "show", t.ticket_id.lower()]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["priority_label"] == "重大投诉" and shown["contact"] == "13800138000"
    assert shown["response"] == "24小时内由总部专家介入"
    assert shown["response_source"] == "oppo-complaint-process"
    assert shown["webhook_state"] == "pending"

    assert main(["tickets", "list", "--per-page", "1", "--page", "2"]) == 0
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 2 and "2-2 of 2 ticket(s)" in out.err
    assert main(["tickets", "list", "--q", "没有这句话"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []

    assert main(["tickets", "close", t.ticket_id, "--note", "已电话回访,顾客满意"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "closed"
    assert main(["tickets", "show", t.ticket_id]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert any(e["action"] == "note" and e["detail"] == "已电话回访,顾客满意" for e in events)
    assert main(["tickets", "list", "--status", "open"]) == 0
    assert t.ticket_id not in capsys.readouterr().out
    assert main(["tickets", "show", "KF-ZZZZZZ"]) == 2
    assert "没有找到工单" in capsys.readouterr().err


def test_an_old_database_with_two_open_tickets_for_a_conversation_starts(tmp_path):
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        db.executescript(OLD_SCHEMA)
        db.execute("UPDATE tickets SET status = 'open'")  # s9 has two open tickets
    store = _store(tmp_path)
    assert {t.ticket_id for t in store.list(status="open")} == {"KF-OLD111", "KF-OLD222"}
    later = _create(store, key="s9:5", session="s9", join_open=True)
    assert later.ticket_id == "KF-OLD222"  # the newer one, as before
    assert len(store.list(status="open")) == 2


def test_duplicates_that_block_the_index_are_left_alone_with_a_warning(tmp_path, caplog):
    store = _store(tmp_path)
    a = _create(store, key="s1:0", join_open=True)
    b = _create(store, key="s1:1", session="s2", join_open=True)
    store.dispose()
    _raw(tmp_path, "DROP INDEX ux_tickets_open_conversation")
    _raw(tmp_path, f"UPDATE tickets SET session_id = 's1' WHERE ticket_id = '{b.ticket_id}'")

    with caplog.at_level("WARNING", logger="bot.tickets.store"):
        store = _store(tmp_path)  # starts, tickets as they were
    assert "1 conversation(s) have more than one open ticket (s1)" in caplog.text
    assert {t.ticket_id for t in store.list(status="open")} == {a.ticket_id, b.ticket_id}
    assert _create(store, key="s1:2", join_open=True).ticket_id in {a.ticket_id, b.ticket_id}

    store.close(a.ticket_id)  # a person closes one; the next start builds the index
    caplog.clear()
    _store(tmp_path)
    assert "ux_tickets_open_conversation" in {
        r[1] for r in _raw(tmp_path, "PRAGMA index_list(tickets)")
    }
    assert "more than one open ticket" not in caplog.text
