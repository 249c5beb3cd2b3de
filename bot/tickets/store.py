"""Tickets through SQLAlchemy: SQLite (WAL) by default, any SQLAlchemy URL by setting.

The ticket row is also the webhook outbox (see bot/tickets/webhook.py): a ticket is
committed first, and its delivery state lives beside it, so a crash or an unreachable
helpdesk never loses a ticket.

One open ticket per conversation holds across processes: a partial unique index allows one
open join_open ticket per session, and a create that loses the race to open it joins the
winner. Writers read and write in one transaction that holds the write lock (SQLite) or
the row's lock (PostgreSQL), so two joins never overwrite each other's turns.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Text,
    case,
    create_engine,
    event,
    false,
    func,
    inspect,
    select,
    text,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.schema import CreateColumn

from bot.tickets.priority import LEVELS, level_for

log = logging.getLogger(__name__)

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: ids are read out over the phone
# The console's stages (Chatwoot's, with new for a ticket no one has taken yet).
STAGES = ("new", "open", "waiting", "snoozed", "resolved")
_WRITE = "kefu_tickets_write"  # execution option: this transaction takes the write lock first


class _Base(DeclarativeBase):
    pass


class TicketRow(_Base):
    __tablename__ = "tickets"
    id = Column(Integer, primary_key=True)
    ticket_id = Column(String(16), unique=True, nullable=False)
    idempotency_key = Column(String(200), unique=True, nullable=False)
    session_id = Column(String(200), nullable=False, index=True)
    category = Column(String(40), nullable=False)
    priority = Column(Integer, nullable=False)
    summary = Column(Text, nullable=False)
    transcript = Column(Text, nullable=False)
    contact = Column(Text, nullable=True)  # only ever set with the customer's consent
    status = Column(String(20), nullable=False, default="open")
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)
    # Added after the first release; _migrate adds them to older databases.
    consent = Column(Boolean, nullable=False, default=False, server_default=false())
    brand = Column(String(20), nullable=True)
    # Outbox. NULL state: the ticket predates the webhook and is never sent.
    webhook_state = Column(String(10), nullable=True)  # pending | sent | failed
    webhook_attempts = Column(Integer, nullable=False, default=0, server_default=text("0"))
    webhook_next_at = Column(DateTime(timezone=True), nullable=True)
    webhook_error = Column(Text, nullable=True)
    # Opened with join_open: the conversation's one open ticket, held by the index below.
    # Rows from before it existed are false, so an old database never blocks the index.
    join_open = Column(Boolean, nullable=False, default=False, server_default=false())
    # The priority the helpdesk acknowledged (NULL: nothing yet, so the next event is
    # ticket.created), and the least urgent one sent since (NULL: nothing sent since).
    webhook_acked_priority = Column(Integer, nullable=True)
    webhook_tried_priority = Column(Integer, nullable=True)
    # Bumped each time the customer gives, changes or withdraws a contact; the helpdesk
    # has been told up to webhook_acked_contact (NULL: 0, the contact the ticket opened with).
    contact_version = Column(Integer, nullable=False, default=0, server_default=text("0"))
    webhook_acked_contact = Column(Integer, nullable=True)
    # The agent console (bot/console). stage: new (no one has it yet), open, waiting (on the
    # customer), snoozed, resolved (status closed); NULL reads as new or resolved.
    # held_by: the agent who holds the conversation; while set, the bot does not answer in it.
    # Bumped at each agent reply in a conversation whose customer left a contact: the helpdesk
    # hears of it (ticket.agent_replied) up to webhook_acked_reply (NULL: 0).
    reply_version = Column(Integer, nullable=False, default=0, server_default=text("0"))
    webhook_acked_reply = Column(Integer, nullable=True)
    stage = Column(String(12), nullable=True)
    assignee = Column(String(64), nullable=True)
    held_by = Column(String(64), nullable=True)

    __table_args__ = (Index("ix_tickets_webhook_due", "webhook_state", "webhook_next_at"),)


_ONE_OPEN = (TicketRow.status == "open") & (TicketRow.join_open == true())
ONE_OPEN_INDEX = Index(
    "ux_tickets_open_conversation",
    TicketRow.session_id,
    unique=True,
    sqlite_where=_ONE_OPEN,
    postgresql_where=_ONE_OPEN,
)


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    if t is None:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    session_id: str
    category: str
    priority: int
    summary: str
    transcript: list[dict]
    status: str
    created_at: str
    priority_label: str = ""
    contact: str | None = None
    consent: bool = False
    updated_at: str = ""
    brand: str | None = None
    webhook_state: str | None = None
    webhook_attempts: int = 0
    webhook_error: str | None = None
    stage: str = "new"
    assignee: str | None = None
    held_by: str | None = None

    @classmethod
    def from_row(cls, r: TicketRow) -> Ticket:
        level = LEVELS.get(r.priority)
        return cls(
            ticket_id=r.ticket_id,
            session_id=r.session_id,
            category=r.category,
            priority=r.priority,
            summary=r.summary,
            transcript=json.loads(r.transcript),
            status=r.status,
            created_at=_utc(r.created_at).isoformat(),
            priority_label=level.label_zh if level else f"P{r.priority}",
            contact=r.contact if r.consent else None,
            consent=bool(r.consent),
            updated_at=_utc(r.updated_at).isoformat(),
            brand=r.brand,
            webhook_state=r.webhook_state,
            webhook_attempts=r.webhook_attempts or 0,
            webhook_error=r.webhook_error,
            stage=r.stage or ("new" if r.status == "open" else "resolved"),
            assignee=r.assignee,
            held_by=r.held_by,
        )


def _join(row: TicketRow, category: str, priority: int, transcript: list[dict], now) -> bool:
    """Fold a later escalation of the same conversation into its open ticket; True if that
    raised its priority."""
    raised = priority < row.priority
    if raised:
        row.priority, row.category = priority, category
        _queue_update(row)
    old = json.loads(row.transcript)
    # Keep what the ticket has and add the turns after the last one it holds (the session's
    # memory is capped, and another worker or a restart may have lost it: then the new turn).
    seen = [i for i, turn in enumerate(transcript) if old and turn == old[-1]]
    row.transcript = json.dumps(
        old + transcript[seen[-1] + 1 :] if seen else old + transcript[-1:], ensure_ascii=False
    )
    row.updated_at = now
    return raised


def _queue_update(row: TicketRow) -> None:
    """A ticket became more urgent or got a new contact: make its delivery due again
    (bot/tickets/webhook.py picks ticket.created, ticket.priority_raised or
    ticket.contact_updated from what was acknowledged)."""
    if row.webhook_state in ("sent", "failed"):
        row.webhook_state, row.webhook_next_at, row.webhook_error = "pending", None, None
        row.webhook_attempts = 0
    elif row.webhook_state == "pending":
        # Already queued: it goes out with the new priority. Its next_at may be a claim's
        # lease (a delivery in flight, followed up when recorded) or a backoff after an
        # error; both stand. The more urgent content gets a fresh set of attempts.
        row.webhook_attempts = 0
    # None: the ticket was never in the outbox (no webhook when it was made): still not.


def new_ticket_id() -> str:
    return "KF-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))


def _consented(contact: str | None, consent: bool) -> str | None:
    """The contact to store: nothing without consent, nothing blank."""
    if not consent or contact is None:
        return None
    return contact.strip() or None


class TicketStore:
    """Creates tickets idempotently: the same key always returns the same ticket."""

    def __init__(self, url: str, *, outbox: bool = True):
        # With outbox, new tickets wait as 'pending' for the webhook; without (no webhook is
        # configured), they are not queued, so turning a webhook on later does not flood the
        # helpdesk with every old ticket.
        self.outbox = outbox
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, future=True)
        self._writer = self.engine.execution_options(**{_WRITE: True})
        self._listeners: list[Callable[[Ticket], None]] = []
        if self.engine.dialect.name == "sqlite":

            @event.listens_for(self.engine, "connect")
            def _pragmas(conn, _record):
                # pysqlite would BEGIN only at the first write, so a read-then-write (a join)
                # could interleave with another process's; SQLAlchemy begins instead (below).
                conn.isolation_level = None
                cur = conn.cursor()
                cur.execute("PRAGMA busy_timeout=5000")  # first: the WAL switch may wait too
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")  # an acknowledged ticket survives a crash
                cur.close()

            @event.listens_for(self.engine, "begin")
            def _begin(conn):
                # Writers take the lock up front and wait for it (busy_timeout); readers see
                # one snapshot and never wait.
                immediate = conn.get_execution_options().get(_WRITE)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        _ensure_schema(self.engine)

    def writing(self) -> Session:
        """A session for read-then-write: on SQLite its transaction holds the write lock from
        the start; on PostgreSQL lock the rows read (with_for_update)."""
        return Session(self._writer, expire_on_commit=False)

    def subscribe(self, callback: Callable[[Ticket], None]) -> None:
        """Call `callback(ticket)` after each ticket the helpdesk must hear about is committed:
        a new one, or one a joining escalation raised in priority (not on idempotent repeats,
        nor on joins that leave the priority as it was)."""
        self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[Ticket], None]) -> None:
        """Stop calling a callback given to subscribe()."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def create(
        self,
        *,
        key: str,
        session_id: str,
        category: str,
        summary: str,
        transcript: list[dict],
        priority: int | None = None,
        contact: str | None = None,
        consent: bool = False,
        brand: str | None = None,
        join_open: bool = False,
    ) -> Ticket:
        """The ticket for `key`, created if new; priority defaults to the category's level.

        With `join_open`, a conversation has one ticket at a time: while the session has an
        open ticket, a new escalation joins it (its transcript grows, its priority rises to
        the more urgent of the two) instead of opening a second one; its contact stays as it
        was (update_contact changes it). The database holds this across processes
        (ONE_OPEN_INDEX): a create that loses the race to open the ticket joins it."""
        if priority is None:
            priority = level_for(category).priority
        elif priority not in LEVELS:
            raise ValueError(f"priority must be one of {sorted(LEVELS)}, got {priority}")
        for attempt in range(8):
            now = dt.datetime.now(dt.UTC)
            try:
                with self.writing() as s:
                    existing = s.scalar(select(TicketRow).where(TicketRow.idempotency_key == key))
                    if existing:
                        return Ticket.from_row(existing)
                    row = self._open_row(s, session_id, lock=True) if join_open else None
                    if row is not None:
                        tell = _join(row, category, priority, transcript, now)
                    else:
                        tell = True
                        row = TicketRow(
                            ticket_id=new_ticket_id(),
                            idempotency_key=key,
                            session_id=session_id,
                            category=category,
                            priority=priority,
                            summary=summary,
                            transcript=json.dumps(transcript, ensure_ascii=False),
                            contact=_consented(contact, consent),
                            consent=bool(consent),
                            brand=brand,
                            status="open",
                            join_open=join_open,
                            created_at=now,
                            updated_at=now,
                            webhook_state="pending" if self.outbox else None,
                            webhook_attempts=0,
                        )
                        s.add(row)
                    s.commit()
                    ticket = Ticket.from_row(row)
            except IntegrityError:
                # A concurrent writer took the key, the ticket id, or (PostgreSQL, or a writer
                # without the lock) the conversation's one open ticket: look again and join it.
                continue
            except OperationalError:
                time.sleep(0.05 * (attempt + 1))  # locked past busy_timeout: try again
                continue
            if tell:
                self._notify(ticket)
            return ticket
        raise RuntimeError("could not create ticket")

    @staticmethod
    def _open_row(s: Session, session_id: str, lock: bool = False) -> TicketRow | None:
        q = (
            select(TicketRow)
            .where(TicketRow.session_id == session_id, TicketRow.status == "open")
            .order_by(TicketRow.id.desc())
            .limit(1)
        )
        # PostgreSQL: a joiner waits for another's join or a close, then sees it (SQLite
        # renders no FOR UPDATE; its transaction already holds the write lock).
        return s.scalar(q.with_for_update() if lock else q)

    def open_for(self, session_id: str) -> Ticket | None:
        """The session's open ticket, if it has one (the newest)."""
        with Session(self.engine) as s:
            row = self._open_row(s, session_id)
            return Ticket.from_row(row) if row is not None else None

    def _notify(self, ticket: Ticket) -> None:
        for callback in list(self._listeners):
            try:
                callback(ticket)
            except Exception:  # the ticket is committed; a listener must not undo the reply
                log.exception("ticket listener failed for %s", ticket.ticket_id)

    def get(self, ticket_id: str, session_id: str | None = None) -> Ticket | None:
        """The ticket, or None; with session_id, another session's ticket is None too."""
        with Session(self.engine) as s:
            row = s.scalar(select(TicketRow).where(TicketRow.ticket_id == ticket_id.upper()))
            if row is None or (session_id is not None and row.session_id != session_id):
                return None
            return Ticket.from_row(row)

    def list(self, status: str | None = None, limit: int = 50) -> list[Ticket]:
        """Newest first, optionally only one status."""
        with Session(self.engine) as s:
            q = select(TicketRow).order_by(TicketRow.id.desc()).limit(limit)
            if status:
                q = q.where(TicketRow.status == status)
            return [Ticket.from_row(r) for r in s.scalars(q)]

    def search(
        self,
        *,
        stage: str | None = None,
        priority: int | None = None,
        q: str | None = None,
        assignee: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[int, list[Ticket]]:
        """(how many match, one page of them): most urgent first, then oldest first, so the
        ticket waiting longest at the top level is on top. `stage` is one of STAGES, or
        "active" for every stage but resolved; `q` matches the ticket id, summary or
        transcript."""
        conds = []
        if stage == "active":
            conds.append(TicketRow.status == "open")
        elif stage == "new":
            conds += [
                TicketRow.status == "open",
                TicketRow.stage.is_(None) | (TicketRow.stage == "new"),
            ]
        elif stage == "resolved":
            conds.append(TicketRow.status != "open")
        elif stage:
            conds += [TicketRow.status == "open", TicketRow.stage == stage]
        if priority is not None:
            conds.append(TicketRow.priority == priority)
        if assignee:
            conds.append(TicketRow.assignee == assignee)
        if q:
            like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(
                TicketRow.ticket_id.ilike(like, escape="\\")
                | TicketRow.summary.ilike(like, escape="\\")
                | TicketRow.transcript.ilike(like, escape="\\")
            )
        with Session(self.engine) as s:
            total = s.scalar(select(func.count()).select_from(TicketRow).where(*conds)) or 0
            rows = s.scalars(
                select(TicketRow)
                .where(*conds)
                .order_by(TicketRow.priority, TicketRow.created_at, TicketRow.id)
                .offset(max(offset, 0))
                .limit(limit)
            )
            return total, [Ticket.from_row(r) for r in rows]

    def holder(self, session_id: str) -> Ticket | None:
        """The session's open ticket if an agent holds the conversation (the bot stays quiet)."""
        with Session(self.engine) as s:
            row = s.scalar(
                select(TicketRow)
                .where(
                    TicketRow.session_id == session_id,
                    TicketRow.status == "open",
                    TicketRow.held_by.is_not(None),
                )
                .limit(1)
            )
            return Ticket.from_row(row) if row is not None else None

    def update_console(self, ticket_id: str, **changes) -> Ticket | None:
        """Set stage, assignee and held_by (the console's own fields); stage "resolved" closes
        the ticket and hands the conversation back to the bot. None: no such ticket, or it is
        already resolved (a resolved ticket stays resolved: the customer's next escalation
        opens a new one)."""
        allowed = {"stage", "assignee", "held_by"}
        if not set(changes) <= allowed:
            raise ValueError(f"only {sorted(allowed)} can be changed here")
        if "stage" in changes and changes["stage"] not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}")
        with self.writing() as s:
            row = s.scalar(
                select(TicketRow).where(TicketRow.ticket_id == ticket_id.upper()).with_for_update()
            )
            if row is None or row.status != "open":
                return None
            for k, v in changes.items():
                setattr(row, k, v)
            if changes.get("stage") == "resolved":
                row.status, row.held_by = "closed", None
            row.updated_at = dt.datetime.now(dt.UTC)
            s.commit()
            return Ticket.from_row(row)

    def close(self, ticket_id: str) -> Ticket | None:
        """Mark a ticket closed (resolved; the bot answers in its conversation again); None if
        there is no such ticket."""
        with self.writing() as s:
            row = s.scalar(select(TicketRow).where(TicketRow.ticket_id == ticket_id.upper()))
            if row is None:
                return None
            row.status, row.stage, row.held_by = "closed", "resolved", None
            row.updated_at = dt.datetime.now(dt.UTC)
            s.commit()
            return Ticket.from_row(row)

    def update_contact(
        self, ticket_id: str, session_id: str, contact: str | None, consent: bool
    ) -> Ticket | None:
        """Record contact details given later; without consent any stored contact is erased.

        A change goes to the helpdesk too (ticket.contact_updated, or within ticket.created
        when that has not been acknowledged yet): a callback number given after the ticket
        was delivered must reach the person who will call.

        None if the ticket does not exist or belongs to another session.
        """
        with self.writing() as s:
            row = s.scalar(select(TicketRow).where(TicketRow.ticket_id == ticket_id.upper()))
            if row is None or row.session_id != session_id:
                return None
            new = _consented(contact, consent)
            changed = (new, bool(consent)) != (row.contact, bool(row.consent))
            row.contact, row.consent = new, bool(consent)
            row.updated_at = dt.datetime.now(dt.UTC)
            if changed:
                row.contact_version = (row.contact_version or 0) + 1
                _queue_update(row)
            s.commit()
            ticket = Ticket.from_row(row)
        if changed:
            self._notify(ticket)
        return ticket

    def agent_replied(self, ticket_id: str) -> Ticket | None:
        """An agent answered in the ticket's conversation: when the customer consented to a
        contact, the helpdesk is told (ticket.agent_replied), so a reply to a customer who
        has left can reach them by phone or e-mail. None: no such ticket."""
        with self.writing() as s:
            row = s.scalar(
                select(TicketRow).where(TicketRow.ticket_id == ticket_id.upper()).with_for_update()
            )
            if row is None:
                return None
            tell = bool(row.consent and row.contact)
            if tell:
                row.reply_version = (row.reply_version or 0) + 1
                _queue_update(row)
            s.commit()
            ticket = Ticket.from_row(row)
        if tell:
            self._notify(ticket)
        return ticket

    def dispose(self) -> None:
        """Close pooled connections (the store can still be used afterwards)."""
        self.engine.dispose()


def _ensure_schema(engine: Engine) -> None:
    """Create the table, add columns missing from older databases, create indexes.

    Several processes may start at once (web workers, CLI): whoever loses a race on the
    same DDL gets an error, looks again and finds the work done.

    The one-open-ticket index covers only rows opened with join_open, and the migration
    marks older rows false, so a database that already holds two open tickets for one
    conversation starts as before: both stay open and a new escalation joins the newer.
    If the index cannot be built all the same (duplicates marked join_open, e.g. written by
    hand), the store starts without it, logs a warning naming the conversations, and tries
    again at the next start: closing the extra tickets is a person's decision, not ours.
    """
    for attempt in range(6):
        try:
            _Base.metadata.create_all(engine)
            _migrate(engine)
            for index in TicketRow.__table__.indexes:
                if index is ONE_OPEN_INDEX:
                    _create_one_open_index(engine)
                else:
                    index.create(engine, checkfirst=True)
            return
        except (OperationalError, ProgrammingError, IntegrityError):
            if attempt == 5:
                raise
            time.sleep(0.05 * (attempt + 1))


def _create_one_open_index(engine: Engine) -> None:
    try:
        ONE_OPEN_INDEX.create(engine, checkfirst=True)
    except IntegrityError:
        with Session(engine) as s:
            doubled = list(
                s.scalars(
                    select(TicketRow.session_id)
                    .where(_ONE_OPEN)
                    .group_by(TicketRow.session_id)
                    .having(func.count() > 1)
                )
            )
        if not doubled:
            raise
        log.warning(
            "tickets: %d conversation(s) have more than one open ticket (%s); index %s not "
            "created, so concurrent escalations may open another until they are closed",
            len(doubled),
            ", ".join(doubled[:10]),
            ONE_OPEN_INDEX.name,
        )


def _migrate(engine: Engine) -> None:
    """Additive migration: ALTER TABLE ... ADD COLUMN for each column the database lacks."""
    table = TicketRow.__table__
    have = {c["name"] for c in inspect(engine).get_columns(table.name)}
    missing = [c for c in table.columns if c.name not in have]
    if not missing:
        return
    quoted = engine.dialect.identifier_preparer.quote(table.name)
    reprioritise = "webhook_state" in {c.name for c in missing}
    with engine.begin() as conn:  # one transaction: SQLite and PostgreSQL both roll DDL back
        if reprioritise:
            # Rows from before priority levels were defined carry the old guard's numbers
            # (billing 2, human 3): give them the level their category has now.
            conn.execute(
                update(table).values(
                    priority=case(
                        (table.c.category == "safety", level_for("safety").priority),
                        (table.c.category == "complaint", level_for("complaint").priority),
                        (table.c.category == "billing", level_for("billing").priority),
                        else_=level_for("other").priority,
                    )
                )
            )
        for column in missing:
            ddl = CreateColumn(column).compile(dialect=engine.dialect)
            conn.execute(text(f"ALTER TABLE {quoted} ADD COLUMN {ddl}"))
            log.info("tickets: added column %s", column.name)
        if "webhook_acked_priority" in {c.name for c in missing}:
            # What was delivered, the helpdesk has at its present priority (as far as we
            # know): a later rise is sent as ticket.priority_raised, not a second created.
            conn.execute(
                update(table)
                .where(table.c.webhook_state == "sent")
                .values(webhook_acked_priority=table.c.priority)
            )
