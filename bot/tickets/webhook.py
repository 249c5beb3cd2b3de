"""Deliver tickets to a helpdesk webhook, from the ticket table used as an outbox.

A ticket is committed with webhook_state 'pending' before anyone tries to send it, so
a helpdesk that is down, slow or unreachable delays delivery but never loses a ticket.
Each ticket is POSTed as JSON with an Idempotency-Key header (the ticket id): a
delivery repeated after a crash or by a second worker can be dropped by the receiver.

When a later escalation joins the ticket and makes it more urgent, the row is pending
again and the helpdesk gets the same body with event 'ticket.priority_raised', the
previous priority and the key '<ticket id>:P<new priority>' (priorities only rise, so each
key names one change). Until the ticket.created has been acknowledged, the helpdesk is
sent ticket.created (at the new priority) instead, so a receiver that knows only that
event still files the ticket. A join that leaves the priority as it was sends nothing.

Contact details given, changed or withdrawn after delivery go out the same way, as
'ticket.contact_updated' with the key '<ticket id>:C<n>' (n counts the changes); a
priority rise or a ticket.created sent later carries the new contact anyway.

An agent's reply (the console) in a conversation whose customer consented to a contact goes
out as 'ticket.agent_replied' with `agent_reply` (the newest reply's text) and the key
'<ticket id>:R<n>', so the helpdesk can pass it on to a customer who has left the chat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from typing import Any

import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.tickets.priority import LEVELS
from bot.tickets.store import Ticket, TicketRow, TicketStore, _utc

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 600  # 10 minutes between attempts at most
_ERROR_CHARS = 500


def backoff_s(attempts: int) -> int:
    """Seconds to wait after the n-th failed attempt: 2, 4, 8, ... capped at 10 minutes."""
    return min(2**attempts, MAX_BACKOFF_S)


def payload(
    ticket: Ticket,
    previous_priority: int | None = None,
    contact_version: int | None = None,
    agent_reply: str | None = None,
) -> dict[str, Any]:
    """The JSON body sent for a ticket; contact details only with the customer's consent.

    With previous_priority, the body announces a rise from it: the same fields, plus
    previous_priority and its labels, under event 'ticket.priority_raised'. With only
    contact_version, it announces new contact details: event 'ticket.contact_updated'."""
    level = LEVELS.get(ticket.priority)
    body = {
        "event": "ticket.created",
        "ticket_id": ticket.ticket_id,
        "session_id": ticket.session_id,
        "category": ticket.category,
        "priority": ticket.priority,
        "priority_label": ticket.priority_label,
        "priority_label_en": level.label_en if level else None,
        "brand": ticket.brand,
        "summary": ticket.summary,
        "transcript": ticket.transcript,
        "status": ticket.status,
        "contact": ticket.contact if ticket.consent else None,
        "consent": ticket.consent,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }
    if previous_priority is not None:
        before = LEVELS.get(previous_priority)
        body["event"] = "ticket.priority_raised"
        body["previous_priority"] = previous_priority
        body["previous_priority_label"] = before.label_zh if before else f"P{previous_priority}"
        body["previous_priority_label_en"] = before.label_en if before else None
    elif contact_version is not None:
        body["event"] = "ticket.contact_updated"
    elif agent_reply is not None:
        body["event"] = "ticket.agent_replied"
        body["agent_reply"] = agent_reply
    return body


def idempotency_key(
    ticket: Ticket,
    previous_priority: int | None = None,
    contact_version: int | None = None,
    reply_version: int | None = None,
) -> str:
    """The ticket id for ticket.created (as before); one key per priority for a rise, one per
    change for new contact details, one per agent reply."""
    if previous_priority is not None:
        return f"{ticket.ticket_id}:P{ticket.priority}"
    if contact_version is not None:
        return f"{ticket.ticket_id}:C{contact_version}"
    if reply_version is not None:
        return f"{ticket.ticket_id}:R{reply_version}"
    return ticket.ticket_id


@dataclasses.dataclass(frozen=True)
class _Claim:
    """One delivery: the ticket as sent, what the event announces, the contact version sent."""

    ticket: Ticket
    previous_priority: int | None  # set: ticket.priority_raised
    contact_update: int | None  # set (and no rise): ticket.contact_updated
    contact_version: int
    reply_update: int | None = None  # set (and nothing above): ticket.agent_replied
    reply_version: int = 0
    agent_reply: str | None = None

    def body(self) -> dict[str, Any]:
        reply = self.agent_reply if self.reply_update is not None else None
        return payload(self.ticket, self.previous_priority, self.contact_update, reply)

    def key(self) -> str:
        return idempotency_key(
            self.ticket, self.previous_priority, self.contact_update, self.reply_update
        )


def _acked_contact(row: TicketRow) -> int:
    return row.webhook_acked_contact or 0


def _acked_reply(row: TicketRow) -> int:
    return row.webhook_acked_reply or 0


def _latest_agent_reply(s: Session, session_id: str) -> str | None:
    """The newest agent message of the conversation (bot/conversations.py), if any."""
    from bot.conversations import MessageRow

    return s.scalar(
        select(MessageRow.text)
        .where(MessageRow.session_id == session_id, MessageRow.role == "agent")
        .order_by(MessageRow.id.desc())
        .limit(1)
    )


class WebhookDispatcher:
    """Posts pending tickets to `url`, retrying with exponential backoff up to max_attempts."""

    def __init__(
        self,
        store: TicketStore,
        url: str,
        timeout_s: float = 5.0,
        max_attempts: int = 8,
        *,
        poll_s: float = 30.0,
    ):
        if not url:
            raise ValueError("webhook url must not be empty")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.store = store
        self.url = url
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.poll_s = poll_s  # how often the thread looks even when nothing woke it
        # A claimed delivery is invisible to other dispatchers for this long; if its
        # process dies mid-request, the ticket becomes due again afterwards.
        self.lease = dt.timedelta(seconds=timeout_s + 60)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ---------------------------------------------------------------------
    def deliver_due(self, now: dt.datetime | None = None) -> int:
        """Try every pending ticket whose next attempt is due; return how many were delivered."""
        now = _utc(now) or dt.datetime.now(dt.UTC)
        with Session(self.store.engine) as s:
            ids = list(s.scalars(self._due(now).with_only_columns(TicketRow.id)))
        if not ids:
            return 0
        delivered = 0
        with httpx.Client(timeout=self.timeout_s) as client:
            for row_id in ids:
                claim = self._claim(row_id, now)
                if claim is None:
                    continue  # another dispatcher took it
                error = self._post(client, claim)
                self._record(row_id, error, now, claim)
                delivered += error is None
        return delivered

    def _due(self, now: dt.datetime):
        return (
            select(TicketRow)
            .where(
                TicketRow.webhook_state == "pending",
                or_(TicketRow.webhook_next_at.is_(None), TicketRow.webhook_next_at <= now),
            )
            .order_by(TicketRow.id)
        )

    def _claim(self, row_id: int, now: dt.datetime) -> _Claim | None:
        """The delivery to make: ticket.created until acknowledged, then a rise or a contact."""
        with self.store.writing() as s:
            claimed = s.execute(
                update(TicketRow)
                .where(
                    TicketRow.id == row_id,
                    TicketRow.webhook_state == "pending",
                    or_(TicketRow.webhook_next_at.is_(None), TicketRow.webhook_next_at <= now),
                )
                .values(
                    webhook_next_at=now + self.lease,
                    # The least urgent priority the helpdesk may hear until an acknowledgment.
                    webhook_tried_priority=func.coalesce(
                        TicketRow.webhook_tried_priority, TicketRow.priority
                    ),
                )
            ).rowcount
            if claimed != 1:
                return None
            row = s.get(TicketRow, row_id)  # read in the claiming transaction: what is sent
            acked, version = row.webhook_acked_priority, row.contact_version or 0
            rose = acked is not None and row.priority != acked
            contact_news = acked is not None and not rose and version != _acked_contact(row)
            replies = row.reply_version or 0
            reply_news = (
                acked is not None and not rose and not contact_news and replies != _acked_reply(row)
            )
            claim = _Claim(
                Ticket.from_row(row),
                acked if rose else None,
                version if contact_news else None,
                version,
                replies if reply_news else None,
                replies,
                _latest_agent_reply(s, row.session_id) if reply_news else None,
            )
            s.commit()
            return claim

    def _post(self, client: httpx.Client, claim: _Claim) -> str | None:
        """None on a 2xx answer, else a short description of what went wrong."""
        try:
            r = client.post(self.url, json=claim.body(), headers={"Idempotency-Key": claim.key()})
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"[:_ERROR_CHARS]
        if 200 <= r.status_code < 300:
            return None
        return f"HTTP {r.status_code}: {r.text}"[:_ERROR_CHARS]

    def _record(self, row_id: int, error: str | None, now: dt.datetime, claim: _Claim) -> None:
        with self.store.writing() as s:
            row = s.get(TicketRow, row_id, with_for_update=True)
            row.webhook_attempts = (row.webhook_attempts or 0) + 1
            if error is None:
                # An earlier try that got no answer may have arrived: the helpdesk holds at
                # worst the least urgent priority sent since the last acknowledgment.
                tried = row.webhook_tried_priority
                row.webhook_acked_priority = row.priority if tried is None else tried
                row.webhook_tried_priority, row.webhook_error = None, None
                # Every body carries the contact as read at its claim: that one has arrived.
                row.webhook_acked_contact = max(_acked_contact(row), claim.contact_version)
                if claim.reply_update is not None:  # only this event carries a reply
                    row.webhook_acked_reply = max(_acked_reply(row), claim.reply_version)
                if (
                    row.priority == row.webhook_acked_priority
                    and _acked_contact(row) == (row.contact_version or 0)
                    and _acked_reply(row) == (row.reply_version or 0)
                ):
                    row.webhook_state, row.webhook_next_at = "sent", None
                else:  # it rose, got a contact or a reply while on its way: tell them now
                    row.webhook_state, row.webhook_next_at = "pending", None
                    row.webhook_attempts = 0
            else:
                row.webhook_error = error
                if row.webhook_attempts >= self.max_attempts:
                    row.webhook_state, row.webhook_next_at = "failed", None
                    log.warning("webhook gave up on %s: %s", row.ticket_id, error)
                else:
                    wait = dt.timedelta(seconds=backoff_s(row.webhook_attempts))
                    row.webhook_next_at = now + wait
            s.commit()

    def _seconds_to_next(self) -> float:
        with Session(self.store.engine) as s:
            nxt = s.scalar(
                select(func.min(TicketRow.webhook_next_at)).where(
                    TicketRow.webhook_state == "pending"
                )
            )
            unscheduled = s.scalar(
                select(TicketRow.id)
                .where(TicketRow.webhook_state == "pending", TicketRow.webhook_next_at.is_(None))
                .limit(1)
            )
        if unscheduled is not None:
            return 0.0
        if nxt is None:
            return self.poll_s
        return (_utc(nxt) - dt.datetime.now(dt.UTC)).total_seconds()

    # -- background thread -----------------------------------------------------------
    def notify(self, _ticket: Ticket | None = None) -> None:
        """Wake the delivery thread now (called for each new or more urgent ticket)."""
        self._wake.set()

    def start(self) -> None:
        """Deliver in a daemon thread; its first pass picks up what an earlier run left pending."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self.store.subscribe(self.notify)
        self._thread = threading.Thread(target=self._run, name="kefu-webhook", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the thread, letting a delivery in flight finish (up to timeout)."""
        self.store.unsubscribe(self.notify)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.timeout_s + 1 if timeout is None else timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a notify() during it is not lost
            try:
                self.deliver_due()
                wait = self._seconds_to_next()
            except Exception:  # the database or network may come back; keep the thread alive
                log.exception("webhook delivery pass failed")
                wait = self.poll_s
            self._wake.wait(timeout=min(max(wait, 0.05), self.poll_s))
