"""WeChat's durable state, in the tickets database so that every worker shares it.

- ``wechat_inbound``: one row per message key (MsgId, or an event's sender and CreateTime),
  inserted before the bot answers: WeChat's retries and a second worker find it taken.
- ``wechat_outbox``: every message sent through the API (answers that missed the passive
  reply, agents' console replies), one row per key, claimed before sending as the ticket
  webhook's outbox is (bot/tickets/webhook.py), so each goes out once across workers.
- ``wechat_tokens``: the access token per account with its expiry, and a short refresh lease
  that lets one worker fetch a new token while the others wait for it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Column, DateTime, Engine, Integer, String, Text, delete, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session

from bot.db import create_tables, open_engine

T = TypeVar("T")
MAX_ERROR = 500


class _Base(DeclarativeBase):
    pass


class InboundRow(_Base):
    __tablename__ = "wechat_inbound"
    id = Column(Integer, primary_key=True)
    key = Column(String(200), unique=True, nullable=False)
    outcome = Column(String(16), nullable=True)  # passive, outbox, ignored, failed
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)


class OutboxRow(_Base):
    __tablename__ = "wechat_outbox"
    id = Column(Integer, primary_key=True)
    key = Column(String(200), unique=True, nullable=False)  # reply:<inbound key>, msg:<id>
    channel = Column(String(8), nullable=False)  # oa, wecom
    user = Column(String(64), nullable=False)
    session_id = Column(String(200), nullable=False, index=True)
    text = Column(Text, nullable=False)
    message_id = Column(Integer, nullable=True, index=True)  # the console message it carries
    ticket_id = Column(String(16), nullable=True)
    state = Column(String(8), nullable=False, default="pending")  # pending, sent, failed
    attempts = Column(Integer, nullable=False, default=0)
    next_at = Column(DateTime(timezone=True), nullable=True)
    error = Column(Text, nullable=True)  # the last failure, WeChat's errcode first
    created_at = Column(DateTime(timezone=True), nullable=False)
    sent_at = Column(DateTime(timezone=True), nullable=True)


class TokenRow(_Base):
    __tablename__ = "wechat_tokens"
    key = Column(String(200), primary_key=True)  # oa:<appid>, wecom:<corpid>:<agentid>
    token = Column(Text, nullable=False, default="")
    expires_at = Column(DateTime(timezone=True), nullable=True)
    refreshing_until = Column(DateTime(timezone=True), nullable=True)


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One claimed outbox message."""

    id: int
    key: str
    channel: str
    user: str
    session_id: str
    text: str
    ticket_id: str | None
    attempts: int


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _locked(fn: Callable[[], T], attempts: int = 6) -> T:
    """`fn` again after a lock timeout (SQLite under several writers); other errors raise."""
    for attempt in range(attempts):
        try:
            return fn()
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


class WeChatStore:
    """The three tables; `url` is the tickets database (or its Engine)."""

    def __init__(self, url: str | Engine):
        self.engine = open_engine(url)
        create_tables(self.engine, _Base.metadata)

    def _insert(self, row) -> bool:
        """Insert `row`; False when its unique key is already there."""

        def write() -> bool:
            with Session(self.engine) as s:
                s.add(row)
                try:
                    s.commit()
                except IntegrityError:
                    s.rollback()
                    return False
                return True

        return _locked(write)

    # -- de-duplication ---------------------------------------------------------------------
    def claim_inbound(self, key: str) -> bool:
        """True for the first caller with this key, in any worker; False for every repeat."""
        return self._insert(InboundRow(key=key, created_at=_now()))

    def settle_inbound(self, key: str, outcome: str) -> None:
        def write() -> None:
            with Session(self.engine) as s:
                s.execute(
                    sql_update(InboundRow).where(InboundRow.key == key).values(outcome=outcome)
                )
                s.commit()

        _locked(write)

    def inbound_outcome(self, key: str) -> str | None:
        with Session(self.engine) as s:
            return s.scalar(select(InboundRow.outcome).where(InboundRow.key == key))

    def forget_before(self, when: dt.datetime) -> int:
        """Drop message keys older than `when`: WeChat stops retrying within a minute."""

        def write() -> int:
            with Session(self.engine) as s:
                n = s.execute(delete(InboundRow).where(InboundRow.created_at < when)).rowcount
                s.commit()
                return n

        return _locked(write)

    # -- outbox ----------------------------------------------------------------------------
    def enqueue(
        self,
        key: str,
        channel: str,
        user: str,
        session_id: str,
        text: str,
        *,
        message_id: int | None = None,
        ticket_id: str | None = None,
    ) -> bool:
        """Queue one message; False when `key` was queued before (by any worker)."""
        return self._insert(
            OutboxRow(
                key=key,
                channel=channel,
                user=user,
                session_id=session_id,
                text=text,
                message_id=message_id,
                ticket_id=ticket_id,
                state="pending",
                attempts=0,
                created_at=_now(),
            )
        )

    def due(self, now: dt.datetime, limit: int = 50) -> list[int]:
        with Session(self.engine) as s:
            q = (
                select(OutboxRow.id)
                .where(
                    OutboxRow.state == "pending",
                    or_(OutboxRow.next_at.is_(None), OutboxRow.next_at <= now),
                )
                .order_by(OutboxRow.id)
                .limit(limit)
            )
            return list(s.scalars(q))

    def claim(self, row_id: int, now: dt.datetime, lease: dt.timedelta) -> Outgoing | None:
        """The message, if this caller won it; a worker that dies mid-send lets it fall due
        again after `lease`."""

        def write() -> Outgoing | None:
            with Session(self.engine) as s:
                won = s.execute(
                    sql_update(OutboxRow)
                    .where(
                        OutboxRow.id == row_id,
                        OutboxRow.state == "pending",
                        or_(OutboxRow.next_at.is_(None), OutboxRow.next_at <= now),
                    )
                    .values(next_at=now + lease)
                ).rowcount
                if won != 1:
                    s.rollback()
                    return None
                r = s.get(OutboxRow, row_id)
                out = Outgoing(
                    r.id, r.key, r.channel, r.user, r.session_id, r.text, r.ticket_id, r.attempts
                )
                s.commit()
                return out

        return _locked(write)

    def record(
        self, row_id: int, error: str | None, *, retry_at: dt.datetime | None = None
    ) -> None:
        """Sent (error None), to be tried again at `retry_at`, or failed for good."""

        def write() -> None:
            with Session(self.engine) as s:
                r = s.get(OutboxRow, row_id)
                r.attempts = (r.attempts or 0) + 1
                if error is None:
                    r.state, r.next_at, r.error, r.sent_at = "sent", None, None, _now()
                else:
                    r.error = error[:MAX_ERROR]
                    r.state, r.next_at = ("pending", retry_at) if retry_at else ("failed", None)
                s.commit()

        _locked(write)

    def outbox(self, session_id: str | None = None) -> list[dict]:
        """The outbox's rows (a session's), oldest first: what the console or a test reads."""
        with Session(self.engine) as s:
            q = select(OutboxRow).order_by(OutboxRow.id)
            if session_id is not None:
                q = q.where(OutboxRow.session_id == session_id)
            return [
                {
                    "key": r.key,
                    "channel": r.channel,
                    "user": r.user,
                    "text": r.text,
                    "state": r.state,
                    "attempts": r.attempts,
                    "error": r.error,
                    "ticket_id": r.ticket_id,
                    "message_id": r.message_id,
                }
                for r in s.scalars(q)
            ]

    def carried_up_to(self) -> int:
        """The highest console message id already queued (0: none)."""
        with Session(self.engine) as s:
            return s.scalar(select(func.max(OutboxRow.message_id))) or 0

    def seconds_to_next(self, cap: float) -> float:
        with Session(self.engine) as s:
            nxt = s.scalar(
                select(func.min(func.coalesce(OutboxRow.next_at, OutboxRow.created_at))).where(
                    OutboxRow.state == "pending"
                )
            )
        if nxt is None:
            return cap
        return max(0.0, min(cap, (_utc(nxt) - _now()).total_seconds()))

    # -- access tokens ---------------------------------------------------------------------
    def token(self, key: str) -> tuple[str, dt.datetime | None]:
        """The stored token and its expiry ("" and None when there is none)."""
        with Session(self.engine) as s:
            r = s.get(TokenRow, key)
            return (r.token or "", _utc(r.expires_at)) if r is not None else ("", None)

    def claim_refresh(self, key: str, stale: str, now: dt.datetime, lease: dt.timedelta) -> bool:
        """True if this caller may fetch a new token: the stored one is still `stale` (no one
        replaced it meanwhile) and no other refresh holds the lease."""
        self._insert(TokenRow(key=key, token=""))

        def write() -> bool:
            with Session(self.engine) as s:
                won = s.execute(
                    sql_update(TokenRow)
                    .where(
                        TokenRow.key == key,
                        TokenRow.token == stale,
                        or_(TokenRow.refreshing_until.is_(None), TokenRow.refreshing_until < now),
                    )
                    .values(refreshing_until=now + lease)
                ).rowcount
                s.commit()
                return won == 1

        return _locked(write)

    def put_token(self, key: str, token: str | None, expires_at: dt.datetime | None) -> None:
        """Store a fetched token and end the lease (token None: the fetch failed, keep the
        old one)."""

        def write() -> None:
            with Session(self.engine) as s:
                values: dict = {"refreshing_until": None}
                if token is not None:
                    values.update(token=token, expires_at=expires_at)
                s.execute(sql_update(TokenRow).where(TokenRow.key == key).values(**values))
                s.commit()

        _locked(write)

    def dispose(self) -> None:
        self.engine.dispose()
