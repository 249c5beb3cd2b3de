"""Tickets, feedback and the webhook outbox on a real PostgreSQL server (tests/servers.py).

The SQLite suites (test_tickets, test_webhook, test_web) cover the behaviour in depth; these
check that the same code holds on the database a team outgrowing SQLite moves to.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from bot.tickets.store import TicketRow, TicketStore
from tests.conftest import create_ticket

pytestmark = pytest.mark.integration


_create = create_ticket


def test_tickets_are_idempotent_private_and_keep_contact_only_with_consent(postgres_url):
    store = TicketStore(postgres_url)
    t = _create(store, contact="13800138000", consent=True)
    assert _create(store).ticket_id == t.ticket_id  # the same key, the same ticket
    assert store.get(t.ticket_id, session_id="s2") is None
    assert store.get(t.ticket_id, session_id="s1").contact == "13800138000"
    other = _create(store, key="s2:0", session="s2", contact="13900139000")
    assert store.get(other.ticket_id).contact is None  # no consent, nothing stored
    store.update_contact(t.ticket_id, "s1", None, consent=False)
    assert store.get(t.ticket_id).contact is None
    assert store.close(t.ticket_id).status == "closed"
    assert [x.ticket_id for x in store.list(status="open")] == [other.ticket_id]
    store.dispose()


def test_one_open_ticket_per_conversation_is_held_by_the_database(postgres_url):
    store = TicketStore(postgres_url)
    first = _create(store, join_open=True)
    joined = _create(store, key="s1:1", category="safety", join_open=True)
    assert joined.ticket_id == first.ticket_id and joined.priority < first.priority
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("tickets")}
    assert "ux_tickets_open_conversation" in indexes
    engine = create_engine(postgres_url)
    with pytest.raises(IntegrityError), engine.begin() as c:  # a second open row, by hand
        c.execute(
            TicketRow.__table__.insert().values(
                ticket_id="KF-XXXXXX",
                idempotency_key="by-hand",
                session_id="s1",
                category="human",
                priority=4,
                summary="x",
                transcript="[]",
                status="open",
                join_open=True,
                created_at=first.created_at,
                updated_at=first.created_at,
            )
        )
    engine.dispose()
    store.dispose()


def test_feedback_is_stored_and_updated_on_postgresql(postgres_url):
    from bot.feedback import FeedbackStore

    fb = FeedbackStore(postgres_url)
    fb.record("s1", "s1:1", "down", "没回答我的问题")
    again = fb.record("s1", "s1:1", "up", None)
    assert (again.rating, again.comment) == ("up", None)
    engine = create_engine(postgres_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM feedback")).scalar() == 1
    engine.dispose()


def test_a_database_missing_later_columns_is_upgraded_in_place(postgres_url):
    engine = create_engine(postgres_url)
    with engine.begin() as c:  # the first release's table, with one ticket in it
        c.execute(
            text(
                "CREATE TABLE tickets (id SERIAL PRIMARY KEY, ticket_id VARCHAR(16) UNIQUE NOT NULL,"
                " idempotency_key VARCHAR(200) UNIQUE NOT NULL, session_id VARCHAR(200) NOT NULL,"
                " category VARCHAR(40) NOT NULL, priority INTEGER NOT NULL, summary TEXT NOT NULL,"
                " transcript TEXT NOT NULL, contact TEXT, status VARCHAR(20) NOT NULL,"
                " created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)"
            )
        )
        c.execute(
            text(
                "INSERT INTO tickets (ticket_id, idempotency_key, session_id, category, priority,"
                " summary, transcript, status, created_at, updated_at) VALUES ('KF-OLD001', 'k',"
                " 'old', 'complaint', 2, '旧工单', '[]', 'open', now(), now())"
            )
        )
    engine.dispose()
    store = TicketStore(postgres_url)
    old = store.get("KF-OLD001")
    assert old.summary == "旧工单" and old.consent is False and old.webhook_state is None
    columns = {c["name"] for c in inspect(store.engine).get_columns("tickets")}
    assert {"consent", "brand", "join_open", "contact_version"} <= columns
    # the conversation's old open ticket is the one a new escalation joins: still one ticket
    joined = _create(store, session="old", join_open=True)
    assert joined.ticket_id == "KF-OLD001" and [t["q"] for t in joined.transcript] == ["我要转人工"]
    store.dispose()
