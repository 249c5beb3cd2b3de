"""Tickets in a real SQLite database: idempotent, scoped to their session."""

from __future__ import annotations

import threading

from bot.tickets.store import TicketStore


def _store(tmp_path):
    return TicketStore(f"sqlite:///{tmp_path / 'tickets.db'}")


def _create(store, key="s1:0", session="s1"):
    return store.create(
        key=key,
        session_id=session,
        category="human",
        priority=3,
        summary="我要转人工",
        transcript=[{"q": "我要转人工"}],
    )


def test_same_key_concurrently_gives_one_ticket(tmp_path):
    store = _store(tmp_path)
    results, barrier = [], threading.Barrier(3)

    def worker():
        barrier.wait()
        results.append(
            _create(TicketStore(store.engine.url.render_as_string(hide_password=False))).ticket_id
        )

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert len(store.list()) == 1


def test_other_sessions_cannot_read_a_ticket(tmp_path):
    store = _store(tmp_path)
    t = _create(store)
    assert store.get(t.ticket_id, session_id="s1").ticket_id == t.ticket_id
    assert store.get(t.ticket_id, session_id="intruder") is None
    assert store.get("KF-ZZZZZZ") is None


def test_close_and_list(tmp_path):
    store = _store(tmp_path)
    t = _create(store)
    assert store.close(t.ticket_id).status == "closed"
    assert store.list(status="open") == []
    assert [x.ticket_id for x in store.list(status="closed")] == [t.ticket_id]


def test_wal_mode_is_on(tmp_path):
    store = _store(tmp_path)
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
