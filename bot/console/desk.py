"""What an agent does to a conversation: take it, reply, note, change its stage, hand it back,
save the answer as knowledge. Every action is written to the audit log.

The rules: a conversation one agent holds is another agent's only through an admin; a
resolved ticket is final (the customer's next escalation opens a new one); the bot is quiet
in a held conversation (bot.chain.Kefu._held) and answers again once it is handed back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.console.faq import save_faq
from bot.console.staff import Event, Staff, StaffStore
from bot.conversations import Message
from bot.errors import InputError
from bot.messages import say
from bot.tickets.store import STAGES, Ticket

if TYPE_CHECKING:
    from bot.chain import Kefu

MAX_REPLY = 2000
MAX_NOTE = 2000
MAX_REASON = 200


class DeskError(Exception):
    """An action the desk refuses: `status` is the HTTP status, the message is for the agent."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


@dataclass
class TicketView:
    ticket: Ticket
    messages: list[Message]
    events: list[Event]

    @property
    def notes(self) -> list[Event]:
        return [e for e in self.events if e.action == "note"]

    @property
    def last_customer(self) -> Message | None:
        return next((m for m in reversed(self.messages) if m.role == "customer"), None)


def _text(text: str | None, limit: int, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DeskError(422, f"{what}不能为空。")
    if len(text) > limit:
        raise DeskError(422, f"{what}最多 {limit} 个字。")
    return text


class Desk:
    def __init__(self, bot: Kefu, staff: StaffStore, faq_dir: Path):
        if bot.tickets is None or bot.conversations is None:
            raise DeskError(503, "未配置工单库,控制台不可用。")
        self.bot = bot
        self.tickets = bot.tickets
        self.conversations = bot.conversations
        self.staff = staff
        self.faq_dir = faq_dir

    # -- reading -----------------------------------------------------------------------
    def inbox(
        self,
        stage: str | None = "active",
        priority: int | None = None,
        q: str | None = None,
        page: int = 1,
        per_page: int = 25,
        mine: str | None = None,
    ) -> tuple[int, list[Ticket]]:
        if stage not in (None, "", "active", *STAGES):
            raise DeskError(422, f"状态须为 active 或 {', '.join(STAGES)}。")
        per_page = min(max(per_page, 1), 100)
        return self.tickets.search(
            stage=stage or None,
            priority=priority,
            q=(q or "").strip()[:100] or None,
            assignee=mine,
            offset=(max(page, 1) - 1) * per_page,
            limit=per_page,
        )

    def view(self, ticket_id: str) -> TicketView:
        ticket = self._ticket(ticket_id)
        return TicketView(
            ticket,
            self.conversations.history(ticket.session_id),
            self.staff.events(ticket.ticket_id),
        )

    def messages(self, ticket_id: str, after: int) -> tuple[Ticket, list[Message]]:
        ticket = self._ticket(ticket_id)
        return ticket, self.conversations.since(ticket.session_id, after)

    def draft(self, ticket_id: str) -> dict:
        """The bot's own best answer to the customer's latest message, for the agent to edit
        (it is never sent without the agent)."""
        view = self.view(ticket_id)
        last = view.last_customer
        if last is None:
            return {"text": "", "citations": [], "question": ""}
        try:
            answer = self.bot.draft(last.text, view.ticket.brand)
        except InputError:
            return {"text": "", "citations": [], "question": last.text}
        return {
            "text": answer.text,
            "citations": [c.public() for c in answer.citations],
            "question": last.text,
            "message_id": last.id,
        }

    # -- acting ------------------------------------------------------------------------
    def take(self, who: Staff, ticket_id: str) -> Ticket:
        ticket = self._open(ticket_id)
        if ticket.held_by and ticket.held_by != who.username and not who.admin:
            raise DeskError(403, f"该会话正由 {ticket.held_by} 处理,只有管理员可以改派。")
        changed = self.tickets.update_console(
            ticket.ticket_id, assignee=who.username, held_by=who.username, stage="open"
        )
        if ticket.held_by != who.username:
            self._notice(changed, "agent_joined")
            self.staff.log(who.username, "take", ticket.ticket_id, ticket.held_by or "")
        return changed

    def assign(self, who: Staff, ticket_id: str, to: str) -> Ticket:
        """Admins only: give the conversation to another agent (who then holds it)."""
        if not who.admin:
            raise DeskError(403, "只有管理员可以改派会话。")
        if self.staff.get(to) is None:
            raise DeskError(422, f"没有名为 {to} 的客服账号。")
        ticket = self._open(ticket_id)
        changed = self.tickets.update_console(
            ticket.ticket_id, assignee=to, held_by=to, stage="open"
        )
        if not ticket.held_by:
            self._notice(changed, "agent_joined")
        self.staff.log(who.username, "assign", ticket.ticket_id, to)
        return changed

    def reply(self, who: Staff, ticket_id: str, text: str) -> Message:
        """Send the agent's words to the customer; replying takes a conversation nobody holds."""
        text = _text(text, MAX_REPLY, "回复")
        ticket = self._open(ticket_id)
        if ticket.held_by != who.username:
            ticket = self.take(who, ticket_id)
        message = self.conversations.append(ticket.session_id, "agent", text, author=who.username)
        self.tickets.update_console(ticket.ticket_id, stage="waiting")
        self.tickets.agent_replied(ticket.ticket_id)  # the helpdesk webhook, with a contact
        self.staff.log(who.username, "reply", ticket.ticket_id, text[:200])
        return message

    def note(self, who: Staff, ticket_id: str, text: str) -> None:
        text = _text(text, MAX_NOTE, "备注")
        ticket = self._ticket(ticket_id)
        self.staff.log(who.username, "note", ticket.ticket_id, text)

    def set_stage(self, who: Staff, ticket_id: str, stage: str, reason: str) -> Ticket:
        if stage not in STAGES or stage == "new":
            raise DeskError(422, "状态须为 open、waiting、snoozed 或 resolved。")
        reason = _text(reason, MAX_REASON, "原因")
        ticket = self._open(ticket_id)
        if ticket.held_by and ticket.held_by != who.username and not who.admin:
            raise DeskError(403, f"该会话正由 {ticket.held_by} 处理。")
        changed = self.tickets.update_console(ticket.ticket_id, stage=stage)
        if stage == "resolved" and ticket.held_by:
            self._notice(changed, "agent_left")
        self.staff.log(who.username, "stage", ticket.ticket_id, f"{ticket.stage}→{stage}: {reason}")
        return changed

    def hand_back(self, who: Staff, ticket_id: str) -> Ticket:
        """The bot answers in the conversation again; the ticket stays open for follow-up."""
        ticket = self._open(ticket_id)
        if ticket.held_by and ticket.held_by != who.username and not who.admin:
            raise DeskError(403, f"该会话正由 {ticket.held_by} 处理。")
        changed = self.tickets.update_console(ticket.ticket_id, held_by=None)
        if ticket.held_by:
            self._notice(changed, "agent_left")
        self.staff.log(who.username, "hand_back", ticket.ticket_id)
        return changed

    def save_answer(self, who: Staff, ticket_id: str, question: str, answer: str) -> Path:
        ticket = self._ticket(ticket_id)
        try:
            path = save_faq(
                self.faq_dir,
                ticket_id=ticket.ticket_id,
                question=question,
                answer=answer,
                agent=who.username,
                brand=ticket.brand,
                brands=tuple(self.bot.profile.product_ids),
            )
        except InputError as e:
            raise DeskError(422, str(e)) from None
        self.staff.log(who.username, "save_faq", ticket.ticket_id, path.name)
        return path

    # -- helpers -----------------------------------------------------------------------
    def _ticket(self, ticket_id: str) -> Ticket:
        ticket = self.tickets.get(ticket_id or "")
        if ticket is None:
            raise DeskError(404, "未找到该工单。")
        return ticket

    def _open(self, ticket_id: str) -> Ticket:
        ticket = self._ticket(ticket_id)
        if ticket.status != "open":
            raise DeskError(409, "该工单已解决,不能再操作;顾客再次求助时会开新工单。")
        return ticket

    def _notice(self, ticket: Ticket | None, key: str) -> None:
        if ticket is not None:
            lang = self.bot.sessions.get(ticket.session_id).lang or "zh"
            self.conversations.append(ticket.session_id, "notice", say(key, lang, self.bot.profile))
