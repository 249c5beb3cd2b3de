"""Staff accounts (agents and admins) and the console's audit log, beside the tickets.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's recommended profile);
only the hash is stored. After `max_failures` wrong passwords in a row an account is locked
for `lockout` (a right password during the lock does not open it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import Column, DateTime, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session

from bot.db import create_tables, open_engine, retry
from bot.errors import InputError

ROLES = ("agent", "admin")
USERNAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")
MIN_PASSWORD = 8


class _Base(DeclarativeBase):
    pass


class StaffRow(_Base):
    __tablename__ = "console_staff"
    id = Column(Integer, primary_key=True)
    username = Column(String(64), unique=True, nullable=False)
    role = Column(String(10), nullable=False)
    password_hash = Column(Text, nullable=False)
    failures = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime(timezone=True), nullable=True)
    # Bumped at each logout and password change: every cookie signed before is void.
    epoch = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime(timezone=True), nullable=False)


class EventRow(_Base):
    __tablename__ = "console_events"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(String(16), nullable=True, index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(24), nullable=False)  # login, take, reply, note, stage, ...
    detail = Column(Text, nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False)


@dataclass(frozen=True)
class Staff:
    username: str
    role: str
    epoch: int

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Event:
    id: int
    ticket_id: str | None
    actor: str
    action: str
    detail: str
    created_at: str


class LockedOut(Exception):
    """Too many wrong passwords: try again after `until`."""

    def __init__(self, until: dt.datetime):
        self.until = until
        super().__init__(f"locked until {until.isoformat()}")


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


class StaffStore:
    def __init__(self, url: str, *, max_failures: int = 5, lockout_minutes: float = 15.0):
        self.engine = open_engine(url)
        self.max_failures = max_failures
        self.lockout = dt.timedelta(minutes=lockout_minutes)
        self._ph = _hasher()
        # Verifying against this when the name is unknown keeps the time the same, so the
        # response time does not tell which usernames exist.
        self._dummy = self._ph.hash("not a password of anyone's")
        create_tables(self.engine, _Base.metadata)

    # -- accounts ----------------------------------------------------------------------
    def add(self, username: str, password: str, role: str = "agent") -> Staff:
        """Create an account; InputError for a bad name, a short password, an unknown role or
        a name that is taken."""
        username = username.strip()
        if not USERNAME.fullmatch(username):
            raise InputError("用户名须为 2-32 个字母、数字、汉字或 _ . -")
        if role not in ROLES:
            raise InputError(f"角色须为 {' 或 '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise InputError(f"密码至少 {MIN_PASSWORD} 个字符")
        row = StaffRow(
            username=username,
            role=role,
            password_hash=self._ph.hash(password),
            failures=0,
            epoch=0,
            created_at=dt.datetime.now(dt.UTC),
        )
        try:
            with Session(self.engine, expire_on_commit=False) as s:
                s.add(row)
                s.commit()
        except IntegrityError:
            raise InputError(f"用户名 {username} 已存在") from None
        return Staff(row.username, row.role, row.epoch)

    def get(self, username: str) -> Staff | None:
        with Session(self.engine) as s:
            row = s.scalar(select(StaffRow).where(StaffRow.username == username))
            return Staff(row.username, row.role, row.epoch) if row else None

    def all(self) -> list[Staff]:
        with Session(self.engine) as s:
            rows = s.scalars(select(StaffRow).order_by(StaffRow.username))
            return [Staff(r.username, r.role, r.epoch) for r in rows]

    def verify(self, username: str, password: str) -> Staff | None:
        """The account if the password is right; None if not. Raises LockedOut while locked."""
        from argon2.exceptions import InvalidHashError, VerificationError

        now = dt.datetime.now(dt.UTC)
        with Session(self.engine, expire_on_commit=False) as s:
            row = s.scalar(select(StaffRow).where(StaffRow.username == username.strip()))
            if row is None:
                with contextlib.suppress(VerificationError):
                    self._ph.verify(self._dummy, password)
                return None
            until = _utc(row.locked_until)
            if until is not None and until > now:
                raise LockedOut(until)
            try:
                ok = self._ph.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False

            def record() -> None:
                if ok:
                    row.failures, row.locked_until = 0, None
                    if self._ph.check_needs_rehash(row.password_hash):
                        row.password_hash = self._ph.hash(password)
                else:
                    row.failures = (row.failures or 0) + 1
                    if row.failures >= self.max_failures:
                        row.failures, row.locked_until = 0, now + self.lockout
                s.commit()

            retry(record)
            if not ok and row.locked_until is not None and _utc(row.locked_until) > now:
                raise LockedOut(_utc(row.locked_until))
            return Staff(row.username, row.role, row.epoch) if ok else None

    def set_password(self, username: str, password: str) -> bool:
        if len(password) < MIN_PASSWORD:
            raise InputError(f"密码至少 {MIN_PASSWORD} 个字符")
        with Session(self.engine) as s:
            row = s.scalar(select(StaffRow).where(StaffRow.username == username))
            if row is None:
                return False
            row.password_hash = self._ph.hash(password)
            row.epoch, row.failures, row.locked_until = row.epoch + 1, 0, None
            s.commit()
            return True

    def end_sessions(self, username: str) -> None:
        """Log out everywhere: cookies signed with the old epoch no longer count."""
        with Session(self.engine) as s:
            row = s.scalar(select(StaffRow).where(StaffRow.username == username))
            if row is not None:
                row.epoch += 1
                s.commit()

    # -- audit log ---------------------------------------------------------------------
    def log(self, actor: str, action: str, ticket_id: str | None = None, detail: str = "") -> None:
        def write() -> None:
            with Session(self.engine) as s:
                s.add(
                    EventRow(
                        ticket_id=ticket_id,
                        actor=actor,
                        action=action,
                        detail=detail[:4000],
                        created_at=dt.datetime.now(dt.UTC),
                    )
                )
                s.commit()

        retry(write)

    def events(self, ticket_id: str | None = None, limit: int = 200) -> list[Event]:
        """Newest first; one ticket's, or everything."""
        with Session(self.engine) as s:
            q = select(EventRow).order_by(EventRow.id.desc()).limit(limit)
            if ticket_id is not None:
                q = q.where(EventRow.ticket_id == ticket_id)
            return [
                Event(
                    r.id, r.ticket_id, r.actor, r.action, r.detail, _utc(r.created_at).isoformat()
                )
                for r in s.scalars(q)
            ]

    def dispose(self) -> None:
        self.engine.dispose()
