"""Thumbs up/down on answers, one row per (session, turn), beside the tickets in one database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session

Rating = Literal["up", "down"]
RATINGS: tuple[str, ...] = ("up", "down")
MAX_COMMENT_CHARS = 1000


class _Base(DeclarativeBase):
    pass


class FeedbackRow(_Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("session_id", "turn_id", name="uq_feedback_turn"),)
    id = Column(Integer, primary_key=True)
    session_id = Column(String(200), nullable=False, index=True)
    turn_id = Column(String(240), nullable=False)
    rating = Column(String(8), nullable=False)
    comment = Column(Text, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class Feedback:
    """One customer's verdict on one answer."""

    session_id: str
    turn_id: str
    rating: str
    comment: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, r: FeedbackRow) -> Feedback:
        return cls(
            r.session_id, r.turn_id, r.rating, r.comment, _iso(r.created_at), _iso(r.updated_at)
        )


def _iso(t: dt.datetime) -> str:
    # SQLite hands back naive datetimes; they were written in UTC.
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).isoformat()


def turn_belongs(turn_id: str, session_id: str) -> bool:
    """Whether `turn_id` is "<session_id>:<n>": a session may only rate its own answers."""
    prefix = f"{session_id}:"
    # The digits check matters: session "ui" must not rate the turns of session "ui:abc".
    return turn_id.startswith(prefix) and turn_id[len(prefix) :].isdigit()


def _mask(text: str) -> str:
    """Mask phone numbers and the like when the PII guard is installed; else keep the text."""
    try:
        from bot.guard.pii import mask_pii
    except ImportError:
        return text
    return mask_pii(text)


class FeedbackStore:
    """Records votes; a second vote on the same turn replaces the first."""

    def __init__(self, url: str):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":

            @event.listens_for(self.engine, "connect")
            def _pragmas(conn, _record):
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA busy_timeout=5000")
                cur.close()

        _Base.metadata.create_all(self.engine)

    def record(
        self, session_id: str, turn_id: str, rating: str, comment: str | None = None
    ) -> Feedback:
        """Insert or update the vote for (session_id, turn_id)."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        if not turn_belongs(turn_id, session_id):
            raise ValueError(f"turn {turn_id!r} is not in session {session_id!r}")
        if comment is not None:
            comment = _mask(comment.strip()[:MAX_COMMENT_CHARS]) or None
        now = dt.datetime.now(dt.UTC)
        for _ in range(3):
            with Session(self.engine) as s:
                row = s.scalar(
                    select(FeedbackRow).where(
                        FeedbackRow.session_id == session_id, FeedbackRow.turn_id == turn_id
                    )
                )
                if row is None:
                    row = FeedbackRow(
                        session_id=session_id,
                        turn_id=turn_id,
                        rating=rating,
                        comment=comment,
                        created_at=now,
                        updated_at=now,
                    )
                    s.add(row)
                else:
                    row.rating, row.comment, row.updated_at = rating, comment, now
                try:
                    s.commit()
                    return Feedback.from_row(row)
                except IntegrityError:
                    s.rollback()  # a concurrent first vote won the insert: update that row
        raise RuntimeError("could not record feedback")

    def get(self, session_id: str, turn_id: str) -> Feedback | None:
        with Session(self.engine) as s:
            row = s.scalar(
                select(FeedbackRow).where(
                    FeedbackRow.session_id == session_id, FeedbackRow.turn_id == turn_id
                )
            )
            return Feedback.from_row(row) if row else None

    def clear(self, session_id: str, turn_id: str) -> bool:
        """Withdraw a vote (the UI's second click on the same thumb); True if one was removed."""
        with Session(self.engine) as s:
            n = s.execute(
                delete(FeedbackRow).where(
                    FeedbackRow.session_id == session_id, FeedbackRow.turn_id == turn_id
                )
            ).rowcount
            s.commit()
            return n > 0

    def list(self, rating: str | None = None, limit: int = 100) -> list[Feedback]:
        with Session(self.engine) as s:
            q = select(FeedbackRow).order_by(FeedbackRow.id.desc()).limit(limit)
            if rating:
                q = q.where(FeedbackRow.rating == rating)
            return [Feedback.from_row(r) for r in s.scalars(q)]
