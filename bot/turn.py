"""One turn as it passes the stages (understand → retrieve → decide → respond)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.guard.scope import Trigger
from bot.session import Session
from bot.types import Answer, Outcome, Reason, Retrieval
from bot.understand import Reading


@dataclass
class TurnState:
    """Everything one turn accumulates. A stage that settles the turn sets `outcome` and
    `reason` (with `trigger` for a rule that fired); later stages then pass it through."""

    question: str  # cleaned, PII and sensitive words masked: all that is ever stored
    session: Session
    reading: Reading
    raw: str = ""  # cleaned but unmasked: read once for a consented contact, never stored
    said: str = ""  # the question as read: simplified characters, pinyin in the knowledge's words
    brand_param: str | None = None
    query: str = ""
    brand: str | None = None
    retrieval: Retrieval | None = None
    outcome: Outcome | None = None
    reason: Reason | None = None
    trigger: Trigger | None = None
    confidence: float = 0.0
    answer: Answer | None = None
    alone: str | None = None  # a follow-up's own words, also searched without the old topic
    asked_ticket: str | None = None  # a ticket id the customer sent
    reply: str | None = None  # a reply settled early (the contact was saved)
    ticket_id: str | None = None  # the ticket this turn opened or joined
    generated: object | None = None  # the LLM's result once generated (bot.answer.llm)
    injection: str | None = None  # the kind of attack the turn is (bot.guard.injection), if any

    def settle(self, outcome: Outcome, reason: Reason, trigger: Trigger | None = None) -> None:
        self.outcome, self.reason, self.trigger = outcome, reason, trigger

    @property
    def settled(self) -> bool:
        return self.outcome is not None

    @property
    def reason_text(self) -> str:
        """The reason as the API, the chat log and the eval show it: "trigger:safety"."""
        if self.reason is Reason.TRIGGER and self.trigger is not None:
            return f"trigger:{self.trigger.category}"
        return str(self.reason or "")

    @property
    def unresolved(self) -> bool:
        """An after-sales question the bot could not settle. Chit-chat, a poem request,
        another company's product or an injection is refused, but leaves nothing for a person
        to do."""
        if self.outcome == "clarify":
            return True
        return (
            self.outcome == "refused"
            and self.reason is Reason.OUT_OF_SCOPE
            and self.reading.in_domain
        )
