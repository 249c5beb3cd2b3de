"""Tickets through SQLAlchemy: SQLite (WAL) by default, any SQLAlchemy URL by setting."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, String, Text, create_engine, event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: ids are read out over the phone


class _Base(DeclarativeBase):
    pass


class TicketRow(_Base):
    __tablename__ = "tickets"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(String(16), unique=True, nullable=False)
    idempotency_key = Column(String(200), unique=True, nullable=False)
    session_id = Column(String(200), nullable=False, index=True)
    category = Column(String(40), nullable=False)
    priority = Column(Integer, nullable=False)
    summary = Column(Text, nullable=False)
    transcript = Column(Text, nullable=False)
    contact = Column(Text, nullable=True)
    status = Column(String(20), nullable=False, default="open")
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    session_id: str
    category: str
    priority: int
    summary: str
    transcript: list[dict]
    status: str
    created_at: str

    @classmethod
    def from_row(cls, r: TicketRow) -> Ticket:
        return cls(
            r.ticket_id,
            r.session_id,
            r.category,
            r.priority,
            r.summary,
            json.loads(r.transcript),
            r.status,
            r.created_at.isoformat(),
        )


def new_ticket_id() -> str:
    return "KF-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


class TicketStore:
    """Creates tickets idempotently: the same key always returns the same ticket."""

    def __init__(self, url: str):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":

            @event.listens_for(self.engine, "connect")
            def _pragmas(conn, _record):
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")  # an acknowledged ticket survives a crash
                cur.execute("PRAGMA busy_timeout=5000")
                cur.close()

        _Base.metadata.create_all(self.engine)

    def create(
        self,
        *,
        key: str,
        session_id: str,
        category: str,
        priority: int,
        summary: str,
        transcript: list[dict],
        contact: str | None = None,
    ) -> Ticket:
        now = dt.datetime.now(dt.UTC)
        for _ in range(5):
            with Session(self.engine) as s:
                existing = s.scalar(select(TicketRow).where(TicketRow.idempotency_key == key))
                if existing:
                    return Ticket.from_row(existing)
                row = TicketRow(
                    ticket_id=new_ticket_id(),
                    idempotency_key=key,
                    session_id=session_id,
                    category=category,
                    priority=priority,
                    summary=summary,
                    transcript=json.dumps(transcript, ensure_ascii=False),
                    contact=contact,
                    status="open",
                    created_at=now,
                    updated_at=now,
                )
                s.add(row)
                try:
                    s.commit()
                    return Ticket.from_row(row)
                except IntegrityError:
                    s.rollback()  # a concurrent retry won the key (or an id clash): read again
        raise RuntimeError("could not create ticket")

    def get(self, ticket_id: str, session_id: str | None = None) -> Ticket | None:
        """The ticket, or None; with session_id, another session's ticket is None too."""
        with Session(self.engine) as s:
            row = s.scalar(select(TicketRow).where(TicketRow.ticket_id == ticket_id.upper()))
            if row is None or (session_id is not None and row.session_id != session_id):
                return None
            return Ticket.from_row(row)

    def list(self, status: str | None = None, limit: int = 50) -> list[Ticket]:
        with Session(self.engine) as s:
            q = select(TicketRow).order_by(TicketRow.id.desc()).limit(limit)
            if status:
                q = q.where(TicketRow.status == status)
            return [Ticket.from_row(r) for r in s.scalars(q)]

    def close(self, ticket_id: str) -> Ticket | None:
        with Session(self.engine) as s:
            row = s.scalar(select(TicketRow).where(TicketRow.ticket_id == ticket_id.upper()))
            if row is None:
                return None
            row.status = "closed"
            row.updated_at = dt.datetime.now(dt.UTC)
            s.commit()
            return Ticket.from_row(row)
