"""Per-session conversation memory, capped, carrying brand and topic between turns.

Two stores with one interface: in this process (the embedded default), or in Redis
(KEFU_REDIS_URL) so that every worker, on every machine, sees the same conversation.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.errors import shared_state

if TYPE_CHECKING:
    from bot.settings import Settings


@dataclass
class Turn:
    question: str
    query: str
    outcome: str
    brand: str | None
    top: str | None = None  # the chunk the answer was drawn from first (its id)
    answer: str = ""  # what the bot replied (masked, as shown)


@dataclass
class Session:
    id: str
    turns: list[Turn] = field(default_factory=list)
    brand: str | None = None
    pending_question: str | None = None  # the question a clarify turn was about
    unresolved: int = 0  # clarify/refused turns in a row
    ticket_id: str | None = None  # the last ticket opened in this session
    lang: str | None = None  # the customer's language, from the last turn that showed it
    awaiting_contact: bool = False  # a handover asked for a phone number or e-mail
    offered_contact: str | None = None  # given unasked with the escalation; kept in memory only
    held_noticed: str | None = None  # the held ticket the customer was told "客服正在处理" for

    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Session:
        data = json.loads(raw)
        known = {f.name for f in dataclasses.fields(cls)}
        turn_fields = {f.name for f in dataclasses.fields(Turn)}
        # Fields a newer release added or dropped are ignored, not fatal.
        data = {k: v for k, v in data.items() if k in known}
        data["turns"] = [
            Turn(**{k: v for k, v in t.items() if k in turn_fields}) for t in data.get("turns", [])
        ]
        return cls(**data)


def _add_turn(session: Session, turn: Turn, history: int, unresolved: bool) -> None:
    session.turns.append(turn)
    del session.turns[:-history]
    if turn.brand:
        session.brand = turn.brand
    session.unresolved = session.unresolved + 1 if unresolved else 0


class SessionStore:
    """In-process sessions, least recently used evicted past `max_sessions`."""

    def __init__(self, history: int = 10, max_sessions: int = 10_000):
        self.history = history
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Session:
        with self._lock:
            s = self._sessions.pop(session_id, None) or Session(session_id)
            self._sessions[session_id] = s
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return s

    def record(self, session: Session, turn: Turn, *, unresolved: bool = False) -> None:
        with self._lock:
            _add_turn(session, turn, self.history, unresolved)

    def save(self, session: Session) -> None:
        """Keep changes made outside record() (a handoff's ticket): in memory they already are."""


class RedisSessionStore:
    """Sessions in Redis as one JSON value each, expiring `ttl_s` after the last turn.

    A worker reads the conversation at the start of a turn and writes it back at the end;
    two turns of one conversation at the same instant (a double click) keep the later one.
    """

    def __init__(
        self,
        url: str,
        history: int = 10,
        ttl_s: int = 86_400,
        prefix: str = "kefu:",
        client: Any = None,
    ):
        import redis  # on first use: the embedded default never imports it

        self.history = history
        self.ttl_s = ttl_s
        self.prefix = f"{prefix}session:"
        self.redis = client or redis.Redis.from_url(url, socket_timeout=5)

    def _key(self, session_id: str) -> str:
        return self.prefix + session_id

    def get(self, session_id: str) -> Session:
        with shared_state("conversation memory"):
            raw = self.redis.get(self._key(session_id))
        if raw is None:
            return Session(session_id)
        try:
            return Session.from_json(raw)
        except (ValueError, TypeError):  # written by hand, or by an incompatible release
            return Session(session_id)

    def record(self, session: Session, turn: Turn, *, unresolved: bool = False) -> None:
        _add_turn(session, turn, self.history, unresolved)
        self.save(session)

    def save(self, session: Session) -> None:
        with shared_state("conversation memory"):
            self.redis.set(self._key(session.id), session.to_json(), ex=self.ttl_s)


def session_store(settings: Settings) -> SessionStore | RedisSessionStore:
    """Redis when KEFU_REDIS_URL is set (several workers), else this process's memory."""
    if settings.redis_url:
        return RedisSessionStore(
            settings.redis_url,
            settings.session_history,
            settings.session_ttl_s,
            settings.redis_prefix,
        )
    return SessionStore(settings.session_history)
