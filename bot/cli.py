"""Command line: a thin layer over the library. Errors become one clear line and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import (
    ConfigError,
    CorpusError,
    IndexMissingError,
    InputError,
    KefuError,
    ModelError,
)

if TYPE_CHECKING:
    from bot.tickets.store import Ticket

EXIT = {InputError: 2, IndexMissingError: 3, CorpusError: 4, ModelError: 5, ConfigError: 6}


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


@contextlib.contextmanager
def stdout_to_stderr():
    """Keep stdout for results only: libraries that print while loading go to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _settings():
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        return Settings()
    except ValidationError as e:
        raise ConfigError(
            f"invalid setting: {e.errors()[0]['loc'][0]}: {e.errors()[0]['msg']}"
        ) from e


# -- ask ------------------------------------------------------------------------
def read_batch(path: Path, max_chars: int, max_lines: int) -> list[dict]:
    """Parse and check a whole batch file before anything runs; InputError names the line."""
    from bot.guard.input import clean_question

    if not path.is_file():
        raise InputError(f"{path}: batch file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not valid UTF-8") from e
    items, ids = [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{n}: not a JSON object ({e.msg})") from e
        if not isinstance(obj, dict) or "id" not in obj or "question" not in obj:
            raise InputError(f'{path}:{n}: each line needs "id" and "question"')
        if not isinstance(obj["question"], str):
            raise InputError(f'{path}:{n}: "question" must be a string')
        if (
            "session" in obj
            and obj["session"] is not None
            and not isinstance(obj["session"], str | int)
        ):
            raise InputError(f'{path}:{n}: "session" must be a string')
        if obj["id"] in ids:
            raise InputError(f"{path}:{n}: duplicate id {obj['id']!r}")
        ids.add(obj["id"])
        try:
            obj["question"] = clean_question(obj["question"], max_chars)
        except InputError as e:
            raise InputError(f"{path}:{n}: {e}") from e
        items.append(obj)
        if len(items) > max_lines:
            raise InputError(f"{path}: more than {max_lines} lines")
    if not items:
        raise InputError(f"{path}: batch file has no questions")
    return items


def _human(answer) -> str:
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("来源:")
        for i, c in enumerate(answer.citations, 1):
            where = "、".join(x for x in (c.locator, c.source_title or c.source) if x)
            lines.append(f"  [{i}] {c.title}({where})")
    if answer.outcome != "answered":
        lines.append(f"({answer.outcome})")
    return "\n".join(lines)


def cmd_ask(args) -> int:
    from bot.guard.input import clean_question

    settings = _settings()
    if args.batch:
        items = read_batch(Path(args.batch), settings.max_question_chars, settings.max_batch_lines)
    else:
        if args.question is None:
            raise InputError('请给出问题,例如: python -m bot ask "保修多久?"')
        question = clean_question(args.question, settings.max_question_chars)
        items = [{"id": None, "question": question, "session": args.session}]

    from bot.factory import build_bot

    with stdout_to_stderr():
        bot = build_bot(settings, chat_log=not args.no_log)
    products = bot.profile.product_ids
    if args.brand and args.brand not in products:
        choices = ", ".join(products) or "none: the profile lists no products"
        raise InputError(f"--brand: {args.brand!r} is not a product ({choices})")
    batch_prefix = uuid.uuid4().hex[:8]
    for item in items:
        session = item.get("session")
        sid = (
            f"{batch_prefix}:{session}"
            if session is not None
            else f"{batch_prefix}:line:{item['id']}"
        )
        if not args.batch and args.session:
            sid = args.session
        with stdout_to_stderr():
            answer = bot.ask(
                item["question"], session_id=sid, brand=args.brand, log=not args.no_log
            )
        if args.json or args.batch:
            print(json.dumps({"id": item["id"], **answer.public()}, ensure_ascii=False), flush=True)
        else:
            print(_human(answer), flush=True)
    return 0


# -- ingest -----------------------------------------------------------------------
def cmd_ingest(args) -> int:
    from bot.factory import ingest

    settings = _settings()
    with stdout_to_stderr():
        report = ingest(settings, progress=not args.quiet)
    _err(report.details())
    _err(report.summary())
    return 0


def cmd_provision(args) -> int:
    from bot.embed.onnx_encoder import ensure_onnx, fastest
    from bot.embed.provision import ModelProvisionError, ensure_model

    settings = _settings()
    try:
        path = ensure_model(settings.embedding_model, settings.models_dir)
    except ModelProvisionError as e:
        raise ModelError(str(e)) from e
    _err(f"model ready: {settings.embedding_model} -> {path}")
    # The faster encoders, built from the same weights and checked against torch here, so the
    # server never exports at start-up; a failed check leaves torch in use (and says why).
    build = ensure_onnx(
        path,
        settings.models_dir,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
    )
    _err(f"encoder used with embedding_backend=auto: {fastest(build)}")
    return 0


TICKET_COLUMNS = (
    "ticket_id",
    "status",
    "stage",
    "priority",
    "category",
    "brand",
    "created_at",
    "webhook",
    "assignee",
    "contact",
    "summary",
)


def _ticket_line(t: Ticket) -> str:
    """One tab-separated line per ticket for `tickets list` (columns: TICKET_COLUMNS)."""
    webhook = t.webhook_state or "-"
    return "\t".join(
        [
            t.ticket_id,
            t.status,
            t.stage,
            f"P{t.priority} {t.priority_label}",
            t.category,
            t.brand or "-",
            t.created_at,
            f"webhook:{webhook}",
            t.assignee or "-",
            t.contact or "-",
            " ".join(t.summary.split()),  # one ticket, one line
        ]
    )


def _ticket_detail(t: Ticket, profile) -> dict:
    """The ticket as `tickets show` prints it, with the company's published response time for
    its level (and the document stating it) where there is one."""
    from dataclasses import asdict

    tier = profile.tier(t.priority, t.brand)
    detail = asdict(t)
    detail["response"] = tier.response if tier else None
    detail["response_source"] = tier.doc if tier else None
    return detail


def cmd_tickets(args) -> int:
    from bot.factory import build_tickets
    from bot.profile import load_profile

    settings = _settings()
    store = build_tickets(settings)
    if args.action == "list":
        stage = args.stage or {"open": "active", "closed": "resolved"}.get(args.status or "")
        per_page = max(1, args.per_page)
        total, tickets = store.search(
            stage=stage,
            priority=args.priority,
            q=args.q,
            offset=(max(args.page, 1) - 1) * per_page,
            limit=per_page,
        )
        print("\t".join(TICKET_COLUMNS))
        for t in tickets:
            print(_ticket_line(t))
        first = (max(args.page, 1) - 1) * per_page
        shown = f"{first + 1}-{first + len(tickets)}" if tickets else "0"
        _err(
            f"{shown} of {total} ticket(s); --page N for more"
            if total > first + len(tickets)
            else f"{shown} of {total} ticket(s)"
        )
        return 0
    if not args.ticket_id:
        raise InputError(f"tickets {args.action} needs a ticket id")
    if args.action == "close":
        t = store.get(args.ticket_id)
        if t is not None:
            from bot.console.staff import StaffStore

            journal = StaffStore(settings.tickets_db_url)
            note = (args.note or "").strip()
            if note:
                journal.log(_operator(), "note", t.ticket_id, note)
            journal.log(_operator(), "stage", t.ticket_id, f"{t.stage}→resolved: {note or 'CLI'}")
            t = store.close(args.ticket_id)
    else:
        t = store.get(args.ticket_id)
    if t is None:
        raise InputError(f"没有找到工单 {args.ticket_id}")
    profile = load_profile(settings.knowledge_dir)
    detail = _ticket_detail(t, profile)
    if args.action == "show":
        from dataclasses import asdict

        from bot.console.staff import StaffStore
        from bot.conversations import ConversationStore

        messages = ConversationStore(store.engine).history(t.session_id)
        detail["messages"] = [m.fields() for m in messages]
        detail["events"] = [asdict(e) for e in StaffStore(store.engine).events(t.ticket_id)]
    print(json.dumps(detail, ensure_ascii=False, indent=2))
    return 0


def _operator() -> str:
    """Who ran the CLI, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _read_password() -> str:
    """From standard input when it is not a terminal (scripts), else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("密码: ")
    if getpass.getpass("再输入一次: ") != first:
        raise InputError("两次输入的密码不一致")
    return first


def cmd_staff(args) -> int:
    from bot.console.staff import StaffStore

    settings = _settings()
    staff = StaffStore(settings.tickets_db_url)
    if args.action == "list":
        for who in staff.all():
            print(f"{who.username}\t{who.role}")
        return 0
    if not args.username:
        raise InputError(f"staff {args.action} needs a username")
    if args.action == "add":
        who = staff.add(args.username, _read_password(), args.role)
        staff.log(_operator(), "staff_add", None, f"{who.username} ({who.role})")
        _err(f"created {who.role} {who.username}; log in at /console/login")
        return 0
    if not staff.set_password(args.username, _read_password()):
        raise InputError(f"没有名为 {args.username} 的账号")
    _err(f"password changed for {args.username}; their other logins have ended")
    return 0


def cmd_calibrate(args) -> int:
    from bot.calibrate import calibrate

    settings = _settings()
    with stdout_to_stderr():
        result = calibrate(settings, Path(args.gold), split=args.split, write=not args.dry_run)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_report(args) -> int:
    from bot.chatlog import ChatLog
    from bot.gaps import format_gaps, knowledge_gaps

    settings = _settings()
    records = ChatLog(Path(args.log) if args.log else settings.chat_log_path).read()
    embed = None
    if not args.no_embed:
        from bot.factory import build_embedder

        with stdout_to_stderr():
            embed = build_embedder(settings).embed_queries
    from bot.profile import load_profile
    from bot.understand import Reader

    reader = Reader(load_profile(settings.knowledge_dir))
    votes, corrected = _from_database(settings)
    groups = knowledge_gaps(
        records, embed=embed, reader=reader, feedback=votes, corrected=corrected
    )
    print(format_gaps(groups, limit=args.limit))
    return 0


def _from_database(settings) -> tuple[list, list]:
    """The 👎 votes and the agents' answers kept beside the tickets, for the gap report
    (nothing before anyone voted or replied; a report never creates the database)."""
    from sqlalchemy.exc import SQLAlchemyError

    url = settings.tickets_db_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return [], []
    from bot.conversations import ConversationStore
    from bot.feedback import FeedbackStore

    try:
        votes = FeedbackStore(url).list(rating="down", limit=1_000_000)
        corrected = ConversationStore(url).agent_answers()
    except SQLAlchemyError as e:
        _err(f"report: votes and agents' answers not read ({type(e).__name__}); left out")
        return [], []
    return votes, corrected


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="kefu after-sales bot")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("ask", help="answer a question (or a batch file)")
    a.add_argument("question", nargs="?")
    a.add_argument("--json", action="store_true", help="print one JSON object per answer")
    a.add_argument("--batch", metavar="FILE.jsonl", help='lines {"id","question","session"?}')
    a.add_argument("--session", help="session id, to continue a conversation")
    a.add_argument("--brand", help="restrict to one product (an id from the profile's products)")
    a.add_argument("--no-log", action="store_true", help="do not write the chat log")
    a.set_defaults(fn=cmd_ask)

    i = sub.add_parser("ingest", help="validate knowledge/ and sync the index")
    i.add_argument("--quiet", action="store_true", help="no progress bar")
    i.set_defaults(fn=cmd_ingest)

    pr = sub.add_parser("provision", help="download/build the embedding model once")
    pr.set_defaults(fn=cmd_provision)

    c = sub.add_parser("calibrate", help="sweep decision thresholds on gold questions")
    c.add_argument("--gold", default="eval/gold.jsonl")
    c.add_argument("--split", default="dev")
    c.add_argument(
        "--dry-run", action="store_true", help="print, do not write DATA_DIR/thresholds.json"
    )
    c.set_defaults(fn=cmd_calibrate)

    r = sub.add_parser("report", help="knowledge gaps from the chat log, most frequent first")
    r.add_argument("--log", help="chat log (default: KEFU_CHAT_LOG or data/chat_log.jsonl)")
    r.add_argument("--limit", type=int, default=30, help="groups to list")
    r.add_argument("--no-embed", action="store_true", help="group by character bigrams, no model")
    r.set_defaults(fn=cmd_report)

    t = sub.add_parser("tickets", help="staff: list, show or close tickets")
    t.add_argument("action", choices=["list", "show", "close"])
    t.add_argument("ticket_id", nargs="?")
    t.add_argument("--status", choices=["open", "closed"])
    t.add_argument("--stage", choices=["active", "new", "open", "waiting", "snoozed", "resolved"])
    t.add_argument("--priority", type=int, help="only this priority level (1 most urgent)")
    t.add_argument("--q", help="search ticket id, summary and transcript")
    t.add_argument("--page", type=int, default=1)
    t.add_argument("--per-page", type=int, default=50)
    t.add_argument("--note", help="close: why (kept in the ticket's audit log)")
    t.set_defaults(fn=cmd_tickets)

    st = sub.add_parser("staff", help="console accounts: add, list, passwd")
    st.add_argument("action", choices=["add", "list", "passwd"])
    st.add_argument("username", nargs="?")
    st.add_argument("--role", choices=["agent", "admin"], default="agent")
    st.set_defaults(fn=cmd_staff)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except KefuError as e:
        code = next((c for t, c in EXIT.items() if isinstance(e, t)), 1)
        _err(f"错误: {e}")
        return code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
