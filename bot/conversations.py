"""Every conversation, message by message: what the agent console shows and what reaches the
customer live.

The bot's session memory (bot/session.py) is short and expires; this is the durable record:
each customer message, the bot's reply with its citations, an agent's reply, and notices
("客服已接入"). All text is stored as the customer saw it: masked (bot/guard/pii.py).

A message's id only grows, so a client that has seen up to id N asks for what came after N:
that is how the widget resumes after a dropped connection and how a reload gets its history.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Literal

from sqlalchemy import Column, DateTime, Engine, Integer, String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Session

from bot.db import create_tables, open_engine, retry

Role = Literal["customer", "bot", "agent", "notice"]
ROLES = ("customer", "bot", "agent", "notice")
MAX_TEXT = 4000


class _Base(DeclarativeBase):
    pass


class MessageRow(_Base):
    __tablename__ = "conversation_messages"
    id = Column(Integer, primary_key=True)
    session_id = Column(String(200), nullable=False, index=True)
    role = Column(String(10), nullable=False)
    text = Column(Text, nullable=False)
    citations = Column(Text, nullable=False, default="[]")  # [{doc_id, title, quote}]
    turn_id = Column(String(240), nullable=True)
    outcome = Column(String(20), nullable=True)  # the bot's: answered, escalated, ...
    author = Column(String(64), nullable=True)  # the agent's display name
    created_at = Column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class Message:
    id: int
    session_id: str
    role: str
    text: str
    citations: list[dict]
    turn_id: str | None
    outcome: str | None
    author: str | None
    created_at: str

    def fields(self) -> dict:
        """Everything but the session id (what staff see: the console, `tickets show`)."""
        d = asdict(self)
        d.pop("session_id")
        return d

    def public(self) -> dict:
        """What the customer's client gets: never the agent's account name."""
        return self.fields() | {"author": "客服" if self.role == "agent" else None}


def _message(r: MessageRow) -> Message:
    at = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=dt.UTC)
    return Message(
        id=r.id,
        session_id=r.session_id,
        role=r.role,
        text=r.text,
        citations=json.loads(r.citations or "[]"),
        turn_id=r.turn_id,
        outcome=r.outcome,
        author=r.author,
        created_at=at.isoformat(),
    )


def _row(
    session_id: str,
    role: Role,
    text: str,
    citations: list[dict] | tuple = (),
    turn_id: str | None = None,
    outcome: str | None = None,
    author: str | None = None,
) -> MessageRow:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, not {role!r}")
    return MessageRow(
        session_id=session_id,
        role=role,
        text=text[:MAX_TEXT],
        citations=json.dumps(list(citations), ensure_ascii=False),
        turn_id=turn_id,
        outcome=outcome,
        author=author,
        created_at=dt.datetime.now(dt.UTC),
    )


class ConversationStore:
    """Appends and reads messages; one table beside the tickets (same database by default)."""

    def __init__(self, url: str | Engine):
        self.engine = open_engine(url)
        create_tables(self.engine, _Base.metadata)

    def append(
        self,
        session_id: str,
        role: Role,
        text: str,
        *,
        citations: list[dict] | tuple = (),
        turn_id: str | None = None,
        outcome: str | None = None,
        author: str | None = None,
    ) -> Message:
        row = _row(session_id, role, text, citations, turn_id, outcome, author)

        def write() -> Message:
            with Session(self.engine, expire_on_commit=False) as s:
                s.add(row)
                s.commit()
                return _message(row)

        return retry(write)

    def turn(
        self,
        session_id: str,
        question: str,
        reply: str,
        *,
        citations: list[dict] | tuple = (),
        turn_id: str | None = None,
        outcome: str | None = None,
    ) -> None:
        """A customer's message and the bot's reply to it, in one transaction; an empty reply
        is not kept."""
        rows = [_row(session_id, "customer", question)]
        if reply:
            rows.append(_row(session_id, "bot", reply, citations, turn_id, outcome))

        def write() -> None:
            with Session(self.engine) as s:
                s.add_all(rows)
                s.commit()

        retry(write)

    def since(self, session_id: str, after: int = 0, limit: int = 500) -> list[Message]:
        """The session's messages with id > after, oldest first."""
        with Session(self.engine) as s:
            q = (
                select(MessageRow)
                .where(MessageRow.session_id == session_id, MessageRow.id > after)
                .order_by(MessageRow.id)
                .limit(limit)
            )
            return [_message(r) for r in s.scalars(q)]

    def history(self, session_id: str) -> list[Message]:
        return self.since(session_id, 0, limit=10_000)

    def agent_answers(self, limit: int = 100_000) -> list[dict]:
        """What agents answered, each with the customer message it followed and the bot's
        reply to that message (its turn id), for the gap report: {"session", "turn_id",
        "question", "agent_answer"}."""
        with Session(self.engine) as s:
            sessions = select(MessageRow.session_id).where(MessageRow.role == "agent").distinct()
            rows = s.scalars(
                select(MessageRow)
                .where(MessageRow.session_id.in_(sessions))
                .order_by(MessageRow.session_id, MessageRow.id)
                .limit(limit)
            )
            out, question, turn, session = [], None, None, None
            for r in rows:
                if r.session_id != session:
                    session, question, turn = r.session_id, None, None
                if r.role == "customer":
                    question, turn = r.text, None
                elif r.role == "bot" and r.turn_id:
                    turn = turn or r.turn_id
                elif r.role == "agent" and question:
                    out.append(
                        {
                            "session": r.session_id,
                            "turn_id": turn,
                            "question": question,
                            "agent_answer": r.text,
                        }
                    )
                    question = None  # one correction per question, the agent's first word
            return out

    def last_id(self, session_id: str) -> int:
        with Session(self.engine) as s:
            q = select(func.max(MessageRow.id)).where(MessageRow.session_id == session_id)
            return s.scalar(q) or 0

    def dispose(self) -> None:
        self.engine.dispose()
