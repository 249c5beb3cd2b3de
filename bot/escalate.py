"""Handing a conversation to a person: the ticket, what the customer is told, their contact."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.guard.pii import contact_value, mask_pii, redact
from bot.messages import say
from bot.profile import Profile
from bot.session import Session
from bot.tickets.priority import LEVELS, level_for
from bot.types import Citation

TICKET_ID = re.compile(r"KF-[A-Z2-9]{6}", re.I)
_STATUS_ZH = {"open": "处理中", "closed": "已关闭"}
_ELECTRIC = re.compile(r"漏电|触电|被电|电到|电了一下|麻手|发麻|电击|electric|shock", re.I)
_WATER = re.compile(r"漏水|渗水|进水|泡水|淹|water|leak|flood", re.I)
_FIRE = re.compile(
    r"鼓包|电池|冒烟|起火|着火|烧|爆|焦|swell|bulg|battery|smok|fire|flame|burn|explod", re.I
)


_YES = re.compile(
    r"^\s*(同意|可以|好的?|行|嗯+|是的?|对|没问题|ok|okay|yes|sure|y)\s*[。.!!~]*\s*$", re.I
)


@dataclass
class Handover:
    """What an escalation produced: the ticket id (None without a ticket store), text, citations."""

    ticket_id: str | None
    text: str
    citations: list[Citation]


def safety_advice(question: str, lang: str, profile: Profile | None = None) -> str:
    """Immediate advice for a safety trigger: electrical, water, battery/fire, or general."""
    for pattern, key in (
        (_ELECTRIC, "safety_electric"),
        (_WATER, "safety_water"),
        (_FIRE, "safety_battery"),
    ):
        if pattern.search(question):
            return say(key, lang, profile)
    return say("safety_general", lang, profile)


class Escalator:
    """Opens tickets idempotently and phrases the handover; None tickets means no ticket store."""

    def __init__(self, tickets, cite_doc=None, profile: Profile | None = None):
        self.tickets = tickets
        self.cite_doc = cite_doc  # doc_id, needle -> Citation | None: backs a quoted response time
        self.profile = profile or Profile()

    def open(
        self,
        session: Session,
        *,
        key: str,
        category: str,
        summary: str,
        brand: str | None,
        lang: str,
        current: str | None = None,
        contact: str | None = None,
        consent: bool = False,
        offered: str | None = None,
    ) -> Handover:
        """Open (or return) the ticket for `key` and phrase the handover. `offered` is the raw
        text of the turn: a phone number or e-mail in it is offered back for consent, not kept."""
        if self.tickets is None:
            return Handover(None, "", [])
        level = level_for(category)
        transcript = [{"q": t.question, "outcome": t.outcome} for t in session.turns]
        if current is not None:
            transcript.append({"q": current, "outcome": "escalated"})
        ticket = self.tickets.create(
            key=key,
            session_id=session.id,
            category=category,
            priority=level.priority,
            summary=mask_pii(summary)[:200],
            transcript=redact(transcript),
            contact=contact,
            consent=consent,
            brand=brand,
            join_open=True,  # one open ticket per conversation
        )
        if contact and consent and ticket.contact != contact:
            # An earlier press already opened this ticket: add the details given now.
            ticket = self.tickets.update_contact(ticket.ticket_id, session.id, contact, True)
        # 转人工 after a safety ticket returns that ticket: say its priority, not "human"'s.
        level = LEVELS.get(ticket.priority, level)
        session.ticket_id = ticket.ticket_id
        session.awaiting_contact = not (contact and consent)
        text, cites = say("ticket", lang, self.profile, ticket_id=ticket.ticket_id), []
        label = level.label_en if lang == "en" else level.label_zh
        # A response time is promised only where the company publishes one, with its source.
        tier = self.profile.tier(level.priority, brand)
        response = (tier.response_en if lang == "en" else tier.response) if tier else ""
        cite = self.cite_doc(tier.doc, tier.response) if response and tier.doc else None
        if response and cite:
            cites.append(cite)
            text += say(
                "next_steps_time", lang, self.profile, label=label, response=response, n="1"
            )
        else:
            text += say("next_steps", lang, self.profile, label=label)
        if session.awaiting_contact:
            given = contact_value(offered or "")
            if given:  # they gave it unasked: use it only once they say yes
                session.offered_contact = given
                text += say("confirm_contact", lang, contact=mask_pii(given))
            else:
                text += say("ask_contact", lang)
        return Handover(ticket.ticket_id, text, cites)

    def take_contact(self, session: Session, question: str, lang: str) -> str | None:
        """After a handover, a message holding a phone number or e-mail is the customer's
        consented contact for that ticket. Returns the reply, or None if this isn't one."""
        if self.tickets is None or not session.ticket_id or not session.awaiting_contact:
            return None
        contact = contact_value(question)
        if contact is None and session.offered_contact and _YES.match(question):
            contact = session.offered_contact
        session.offered_contact = None  # asked once: a reply that isn't a yes drops it
        if contact is None:
            return None
        ticket = self.tickets.update_contact(
            session.ticket_id, session.id, contact=contact, consent=True
        )
        if ticket is None:
            return None
        session.awaiting_contact = False
        return say("contact_saved", lang, contact=mask_pii(contact), ticket_id=ticket.ticket_id)

    def status(self, ticket_id: str, session_id: str, lang: str) -> str:
        t = self.tickets.get(ticket_id, session_id=session_id) if self.tickets else None
        if t is None:
            return say("ticket_not_found", lang, ticket_id=ticket_id.upper())
        level = LEVELS[t.priority]  # as stored on the ticket
        return say(
            "ticket_status",
            lang,
            ticket_id=t.ticket_id,
            status=t.status if lang == "en" else _STATUS_ZH.get(t.status, t.status),
            label=level.label_en if lang == "en" else level.label_zh,
            created=t.created_at[:16].replace("T", " "),
        )
