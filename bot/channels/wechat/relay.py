"""The outbox's sender: late answers and agents' console replies, out through WeChat's API.

Each pass first carries new agent replies and notices of the WeChat conversations (the
console writes them to conversation_messages) into the outbox, keyed by their message id, so a
reply is queued once however many workers see it; then it sends what is due, claiming each row
first. A failure WeChat will not take back (45015: outside the 48-hour window) is not retried;
like a message that ran out of attempts it is recorded on the conversation's ticket, as a
``wechat_undelivered`` event in the console's audit log, which the ticket page shows.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.wechat.client import DeliveryError, redact
from bot.channels.wechat.store import Outgoing, WeChatStore

log = logging.getLogger("kefu.wechat")

CARRIED_ROLES = ("agent", "notice")  # the bot's own replies go out with the turn
# Console messages are scanned again this far back: on PostgreSQL an id can commit after a
# higher one; the outbox's unique key makes seeing one twice harmless.
RESCAN = 100
MAX_BACKOFF_S = 300
LEASE = dt.timedelta(seconds=60)


class Sender(Protocol):
    channel: str

    def send(self, user: str, text: str) -> None: ...


def backoff_s(attempts: int) -> int:
    """2, 4, 8, ... seconds after the n-th failure, at most five minutes."""
    return min(2**attempts, MAX_BACKOFF_S)


def recipient(session_id: str) -> tuple[str, str] | None:
    """(channel, user) of a WeChat session id ``wechat:<channel>:<user>``; None otherwise."""
    parts = session_id.split(":", 2)
    if len(parts) == 3 and parts[0] == "wechat" and parts[1] in ("oa", "wecom") and parts[2]:
        return parts[1], parts[2]
    return None


class Relay:
    """Carries console replies into the outbox and sends the outbox, in a daemon thread."""

    def __init__(
        self,
        store: WeChatStore,
        senders: dict[str, Sender],
        *,
        conversations: Callable[[], object | None] = lambda: None,
        on_failure: Callable[[Outgoing, DeliveryError], None] = lambda _o, _e: None,
        max_attempts: int = 6,
        poll_s: float = 1.0,
    ):
        self.store = store
        self.senders = senders
        self.conversations = conversations  # the bot's ConversationStore once it has loaded
        self.on_failure = on_failure
        self.max_attempts = max_attempts
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ----------------------------------------------------------------------------
    def carry_console(self) -> int:
        """Queue agents' replies and notices written since the last one queued."""
        convs = self.conversations()
        if convs is None:
            return 0
        from bot.conversations import MessageRow

        after = max(0, self.store.carried_up_to() - RESCAN)
        with Session(convs.engine) as s:
            rows = s.execute(
                select(MessageRow.id, MessageRow.session_id, MessageRow.text)
                .where(
                    MessageRow.id > after,
                    MessageRow.role.in_(CARRIED_ROLES),
                    MessageRow.session_id.like("wechat:%"),
                )
                .order_by(MessageRow.id)
                .limit(500)
            ).all()
        queued = 0
        for message_id, session_id, text in rows:
            to = recipient(session_id)
            if to is None or to[0] not in self.senders or not text.strip():
                continue
            queued += self.store.enqueue(
                f"msg:{message_id}", to[0], to[1], session_id, text, message_id=message_id
            )
        return queued

    def send_due(self, now: dt.datetime | None = None) -> int:
        """Send every due message this worker can claim; return how many went out."""
        now = now or dt.datetime.now(dt.UTC)
        sent = 0
        for row_id in self.store.due(now):
            item = self.store.claim(row_id, now, LEASE)
            if item is None:
                continue  # another worker has it
            sender = self.senders.get(item.channel)
            try:
                if sender is None:
                    raise DeliveryError(None, f"channel {item.channel} is not configured")
                sender.send(item.user, item.text)
            except DeliveryError as e:
                self._failed(item, e, now)
                continue
            except Exception as e:  # a bug or an unexpected library error: retried, logged
                log.exception("wechat: sending %s failed", item.key)
                self._failed(item, DeliveryError(None, redact(f"{type(e).__name__}: {e}")), now)
                continue
            self.store.record(item.id, None)
            sent += 1
        return sent

    def _failed(self, item: Outgoing, error: DeliveryError, now: dt.datetime) -> None:
        final = error.permanent or item.attempts + 1 >= self.max_attempts
        retry_at = None if final else now + dt.timedelta(seconds=backoff_s(item.attempts + 1))
        self.store.record(item.id, str(error), retry_at=retry_at)
        log.warning(
            "wechat: %s not delivered (%s)%s", item.key, error, "" if final else ", retrying"
        )
        if final:
            try:
                self.on_failure(item, error)
            except Exception:
                log.exception("wechat: could not record the failed delivery of %s", item.key)

    def pass_once(self) -> int:
        self.carry_console()
        return self.send_due()

    # -- background thread -------------------------------------------------------------------
    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kefu-wechat", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # before the pass: a notify() during it is not lost
            wait = self.poll_s
            try:
                self.pass_once()
                wait = self.store.seconds_to_next(self.poll_s)
            except Exception:  # the database or WeChat may come back; keep the thread alive
                log.exception("wechat: relay pass failed")
            self._wake.wait(timeout=max(wait, 0.05))
