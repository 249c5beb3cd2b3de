"""The human side of a turn: what an escalated turn says, the 转人工 button, ticket look-ups.

`bot.escalate.Escalator` opens the ticket and phrases the handover; this module decides when,
with which wording, and keeps one open ticket per conversation.
"""

from __future__ import annotations

from bot.escalate import TICKET_ID, Escalator, safety_advice
from bot.guard.pii import contact_value
from bot.messages import say
from bot.profile import Profile
from bot.session import RedisSessionStore, SessionStore
from bot.turn import TurnState
from bot.types import Answer, Citation, Reason

# What an escalated turn opens with, by trigger category or by reason; else low confidence.
_TRIGGER_TEXT = {"complaint": "escalated_complaint", "billing": "escalated_billing"}
_REASON_TEXT = {Reason.UNRESOLVED: "escalated_unresolved"}


class Handoff:
    """Escalations and the 转人工 button over one ticket store (None: no tickets)."""

    def __init__(
        self, escalator: Escalator, sessions: SessionStore | RedisSessionStore, profile: Profile
    ):
        self.escalator = escalator
        self.tickets = escalator.tickets
        self.sessions = sessions
        self.profile = profile

    def escalate(self, s: TurnState, lang: str) -> tuple[str, list[Citation]]:
        """The reply of an escalated turn and the ticket it opens (or joins): `s.ticket_id`."""
        if s.trigger is not None:
            text = say(_TRIGGER_TEXT.get(s.trigger.category, "escalated"), lang, self.profile)
            if s.trigger.category == "safety":
                text = safety_advice(s.question, lang, self.profile) + "\n" + text
        else:
            key = _REASON_TEXT.get(s.reason, "escalated_low_confidence")
            text = say(key, lang, self.profile)
        over = self.escalator.open(
            s.session,
            key=f"{s.session.id}:{len(s.session.turns)}",
            category=s.trigger.category if s.trigger else str(s.reason),
            summary=s.question,
            brand=s.brand,
            lang=lang,
            current=s.question,
            offered=s.raw,
        )
        s.ticket_id = over.ticket_id
        return (text + over.text if over.ticket_id else text), over.citations

    def press(
        self,
        session_id: str,
        *,
        brand: str | None = None,
        contact: str | None = None,
        consent: bool = False,
        lang: str = "zh",
        request_key: str | None = None,
    ) -> Answer:
        """The customer pressed 转人工: the conversation's open ticket, else a new one. A
        client retrying with the same `request_key` (Idempotency-Key) gets the same ticket."""
        session = self.sessions.get(session_id)
        last = session.last()
        if request_key:
            key = f"{session.id}:request:{request_key}"
        else:
            key = f"{session.id}:handoff:{len(session.turns)}"
        # Only a phone number or e-mail is kept, written plainly: whatever else the free-text
        # field holds (an ID number, a card) is never stored.
        contact = contact_value(contact) if contact and consent else None
        over = self.escalator.open(
            session,
            key=key,
            category="human",
            summary=last.question if last else "客户要求转人工",
            brand=brand or session.brand,
            lang=lang,
            contact=contact,
            consent=consent,
        )
        self.sessions.save(session)  # the ticket and the contact question, for every worker
        return Answer(
            outcome="escalated",
            text=say("handoff", lang, self.profile) + over.text,
            citations=over.citations,
            confidence=1.0,
            ticket_id=over.ticket_id,
            reason=str(Reason.HANDOFF),
            turn_id=f"{session.id}:{len(session.turns)}",
        )

    def ticket(self, ticket_id: str, session_id: str):
        """The ticket if it belongs to this session, else None (unknown and foreign alike)."""
        if self.tickets is None or not TICKET_ID.fullmatch(ticket_id.strip()):
            return None
        return self.tickets.get(ticket_id.strip(), session_id=session_id)
