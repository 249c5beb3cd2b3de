"""Per-session conversation memory, capped, carrying brand and topic between turns."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field


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

    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None


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
            session.turns.append(turn)
            del session.turns[: -self.history]
            if turn.brand:
                session.brand = turn.brand
            session.unresolved = session.unresolved + 1 if unresolved else 0
