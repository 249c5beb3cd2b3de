"""Run the gold cases through the bot (the `bot ask --batch` path), the baselines and calibration."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from bot.answer.decide import Thresholds
from bot.calibrate import MAX_WRONG_ANSWERED, load_gold, score, sweep
from bot.guard.pii import find_pii, mask_pii
from bot.settings import read_thresholds
from bot.types import Answer
from eval.baselines import run_baselines
from eval.metrics import Record, by_category, summarize

if TYPE_CHECKING:
    from bot.chain import Kefu
    from bot.tickets.store import TicketStore

EVAL_DIR = Path(__file__).resolve().parent
GOLD = EVAL_DIR / "gold.jsonl"
# Questions and conversations written by someone who never saw the FAQ phrasings (eval/DATA.md).
CUSTOMERS = EVAL_DIR / "customers.jsonl"
FLOORS = EVAL_DIR / "floors.json"
OURS = "kefu"  # the extractive answerer: what the floors and CI gate
OURS_LLM = "kefu+llm"  # the same bot with the generative answerer, when one is configured
SPLITS = ("test", "dev", "all")


@dataclass
class EvalRun:
    """Everything one run measured: records per system (ours first), calibration, provenance."""

    split: str
    started: dt.datetime
    meta: dict
    records: dict[str, list[Record]]
    calibration: dict | None
    seconds: float = 0.0
    audits: dict[str, dict] = field(default_factory=dict)  # system -> pii_audit() of its storage
    timings: dict[str, float] = field(default_factory=dict)  # system -> seconds its cases took

    @property
    def metrics(self) -> dict[str, dict]:
        """{system: {"overall": ..., "by_category": ...}}; pii_in_storage is None for a system
        that stores nothing (the baselines)."""
        out = {}
        for name, recs in self.records.items():
            overall = summarize(recs)
            audit = self.audits.get(name)
            overall["pii_in_storage"] = audit["pii_in_storage"] if audit else None
            out[name] = {"overall": overall, "by_category": by_category(recs)}
        return out


def load_cases(split: str, gold: Path = GOLD) -> list[dict]:
    """Gold cases of one split (`all` for both), in file order."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return load_gold(gold, None if split == "all" else split)


def floors_for(gold: Path) -> Path:
    """The floors file of a gold set: floors.json for gold.jsonl, floors.<name>.json beside
    any other (floors.customers.json for customers.jsonl)."""
    gold = Path(gold)
    return (
        FLOORS if gold.resolve() == GOLD.resolve() else gold.with_name(f"floors.{gold.stem}.json")
    )


def load_floors(path: Path = FLOORS) -> dict:
    """{"min": {metric: floor}, "max": {metric: ceiling}} for the test split."""
    return json.loads(path.read_text(encoding="utf-8"))


def session_ids(cases: Sequence[dict], run_id: str) -> list[str]:
    """One id per case: shared by cases with the same `session`, as `bot ask --batch` does."""
    return [
        f"{run_id}:{c['session']}" if c.get("session") else f"{run_id}:line:{c['id']}"
        for c in cases
    ]


def record_of(case: dict, answer: Answer) -> Record:
    """A gold case and the bot's Answer as one record."""
    return Record.from_case(
        case,
        outcome=answer.outcome,
        answer=answer.text,
        citations=[
            {"doc_id": c.doc_id, "title": c.title, "source": c.source, "text": c.text}
            for c in answer.citations
        ],
        retrieved=[
            {
                "doc_id": h.chunk.doc_id,
                "score": h.score,
                "dense": h.dense,
                "sparse": h.sparse,
                "text": h.chunk.text,
            }
            for h in answer.hits
        ],
        latency_ms=answer.latency_ms,
        confidence=answer.confidence,
        reason=answer.reason,
        ticket_id=answer.ticket_id,
        meta=dict(answer.meta),
    )


def ask_all(bot: Kefu, cases: Sequence[dict], run_id: str, log: bool = True) -> list[Record]:
    """Every case through `bot.ask`, conversations in file order, turns logged to its chat log."""
    return [
        record_of(c, bot.ask(c["question"], session_id=sid, log=log))
        for c, sid in zip(cases, session_ids(cases, run_id), strict=True)
    ]


# -- sandbox and PII audit ---------------------------------------------------------------
def sandboxed(bot: Kefu, folder: Path, *, llm=None) -> Kefu:
    """A bot sharing `bot`'s settings, retriever, corpus and guards (no second model load),
    with its own ticket store and chat log under `folder`, no webhook, and `llm` as its
    generative answerer (None: extractive)."""
    from bot.chain import Kefu
    from bot.chatlog import ChatLog
    from bot.tickets.store import TicketStore

    folder.mkdir(parents=True, exist_ok=True)
    return Kefu(
        bot.settings,
        bot.retriever,
        bot.corpus,
        answerer=bot.answerer,
        tickets=TicketStore(f"sqlite:///{folder / 'tickets.db'}"),
        chat_log=ChatLog(folder / "chat_log.jsonl"),
        sensitive=bot.sensitive,
        llm=llm,
    )


def _findings(where: str, value: str) -> list[dict]:
    # The report names the kind and a masked form: it must not become a PII store itself.
    return [{"where": where, "kind": m.kind, "masked": mask_pii(m.value)} for m in find_pii(value)]


def pii_audit(tickets: TicketStore | None, chat_log: Path | None) -> dict:
    """Personal data left in storage: every ticket's summary and transcript, every chat-log line.

    Reads the rows and lines as stored, not through the code that wrote them. A ticket's
    `contact` column is left out: a contact given with consent is kept there on purpose.
    """
    found: list[dict] = []
    n_tickets = n_lines = 0
    if tickets is not None:
        with tickets.engine.connect() as conn:
            rows = conn.execute(text("SELECT ticket_id, summary, transcript FROM tickets")).all()
        for ticket_id, summary, transcript in rows:
            found += _findings(f"ticket {ticket_id} summary", summary or "")
            found += _findings(f"ticket {ticket_id} transcript", transcript or "")
        n_tickets = len(rows)
    if chat_log is not None and Path(chat_log).exists():
        lines = Path(chat_log).read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines, 1):
            found += _findings(f"chat log line {i}", line)
        n_lines = len(lines)
    return {
        "tickets": n_tickets,
        "chat_log_lines": n_lines,
        "pii_in_storage": len(found),
        "findings": found,
    }


# -- calibration view ------------------------------------------------------------------
def operating_point(cases: Sequence[dict], states: Sequence, th: Thresholds) -> dict:
    """Coverage (share answered) and accuracy (share of answered that are right) at `th`."""
    correct, answered, wrong = score(cases, states, th)
    n = len(cases)
    return {
        "cases": n,
        "correct": correct,
        "answered": answered,
        "wrong_among_answered": wrong,
        "coverage": answered / n if n else None,
        "accuracy": 1 - wrong / answered if answered else None,
        "outcome_accuracy": correct / n if n else None,
    }


def frontier(points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    """The (coverage, accuracy) points no other point beats on both, by coverage."""
    best: list[tuple[float, float]] = []
    for cov, acc in sorted(points, key=lambda p: (-p[0], -p[1])):
        if not best or acc > best[-1][1]:
            best.append((cov, acc))
    return sorted(best)


def _states(bot: Kefu, cases: Sequence[dict], run_id: str) -> list:
    # Single-turn cases only, as `bot calibrate` does: a follow-up depends on earlier outcomes.
    return [bot.prepare(c["question"], session_id=f"{run_id}:cal:{c['id']}") for c in cases]


def calibration_view(bot: Kefu, gold: Path, run_id: str, with_test: bool) -> dict:
    """The dev coverage-accuracy cloud and frontier, the operating point in use, and a re-fit."""
    th = Thresholds.of(bot.settings)
    dev = [c for c in load_gold(gold, "dev") if not c.get("session")]
    dev_states = _states(bot, dev, run_id)
    refit = sweep(dev, dev_states)
    view = {
        "target_max_wrong_answered": MAX_WRONG_ANSWERED,
        "thresholds": {"faq": th.faq, "answer": th.answer, "refuse": th.refuse},
        "dev": operating_point(dev, dev_states, th),
        "curve": refit["curve"],
        "frontier": frontier(refit["curve"]),
        "refit": {"thresholds": refit["thresholds"], "dev": refit["dev"]},
    }
    if with_test:
        test = [c for c in load_gold(gold, "test") if not c.get("session")]
        view["test"] = operating_point(test, _states(bot, test, run_id), th)
    return view


# -- provenance ------------------------------------------------------------------------
def thresholds_source(settings=None) -> str:
    """Where the thresholds in use came from: environment, DATA_DIR/thresholds.json, or defaults."""
    env = [
        k
        for k in ("KEFU_FAQ_THRESHOLD", "KEFU_ANSWER_THRESHOLD", "KEFU_REFUSE_THRESHOLD")
        if k in os.environ
    ]
    if env:
        return "environment (" + ", ".join(env) + ")"
    path = settings.thresholds_path if settings is not None else None
    data = read_thresholds(path) if path is not None else {}
    if data:
        cal = data.get("calibrated_on") or {}
        how = (
            f"calibrated {cal.get('date', '?')} on {cal.get('gold', '?')} ({cal.get('split', '?')})"
            if cal.get("gold")
            else f"fitted at ingest from the knowledge ({cal.get('date', '?')})"
        )
        return f"{path} ({how})"
    return "defaults in bot/settings.py (no thresholds.json in the data dir)"


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, cwd=EVAL_DIR, check=True, timeout=10
    ).stdout.strip()


def git_revision() -> str:
    """Short commit, with `+dirty` when the tree has changes; `unknown` outside git."""
    try:
        head, dirty = _git("rev-parse", "--short", "HEAD"), _git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _llm_of(bot: Kefu) -> dict | None:
    # Model and endpoint only, never the API key; from the answerer's own settings.
    if bot.llm is None:
        return None
    s = getattr(bot.llm, "settings", bot.settings)
    return {"model": s.llm_model, "base_url": s.llm_base_url}


def describe(bot: Kefu) -> dict:
    """Model, index and settings: what a reader needs to reproduce the numbers."""
    s, r = bot.settings, bot.retriever
    return {
        "embedding_model": s.embedding_model,
        "model_fingerprint": r.embedder.fingerprint,
        "knowledge_fingerprint": bot.corpus.fingerprint,
        "documents": len(bot.corpus.documents),
        "faqs": len(bot.corpus.faqs),
        "chunks": len(r.chunks),
        "thresholds": {
            "faq": s.faq_threshold,
            "answer": s.answer_threshold,
            "refuse": s.refuse_threshold,
        },
        "thresholds_source": thresholds_source(s),
        "settings": {
            "top_k": s.top_k,
            "candidate_k": s.candidate_k,
            "rrf_k": s.rrf_k,
            "chunk_max_tokens": s.chunk_max_tokens,
            "query_prefix": s.query_prefix,
            "passage_prefix": s.passage_prefix,
            "collection": s.collection,
            "knowledge_dir": str(s.knowledge_dir),
            "data_dir": str(s.data_dir),
        },
        "answerer": type(bot.answerer).__name__,
        "llm": _llm_of(bot),
        "git": git_revision(),
    }


def run_eval(
    bot: Kefu,
    split: str = "test",
    *,
    baselines: bool = True,
    calibration: bool = True,
    gold: Path = GOLD,
    llm: bool = True,
) -> EvalRun:
    """One full evaluation with an already built bot (built once by the caller).

    `bot` lends its index, model and guards; the cases run through sandboxed copies of it, each
    with a throw-away ticket store and chat log that are audited for PII afterwards: `kefu`
    (extractive) always, and `kefu+llm` too when `bot` has a generative answerer and `llm`.
    """
    started = dt.datetime.now().astimezone()
    t0 = time.perf_counter()
    run_id = f"eval:{uuid.uuid4().hex[:8]}"
    cases = load_cases(split, gold)
    systems = {OURS: None}
    if llm and bot.llm is not None:
        systems[OURS_LLM] = bot.llm
    records: dict[str, list[Record]] = {}
    audits: dict[str, dict] = {}
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kefu-eval-") as tmp:
        extractive = None
        for name, answerer in systems.items():
            twin = sandboxed(bot, Path(tmp) / name.replace("+", "_"), llm=answerer)
            extractive = extractive or twin
            t1 = time.perf_counter()
            try:
                records[name] = ask_all(twin, cases, f"{run_id}:{name}")
                audits[name] = pii_audit(twin.tickets, twin.chat_log.path)
            finally:
                twin.tickets.dispose()
            timings[name] = time.perf_counter() - t1
        if baselines:
            t1 = time.perf_counter()
            records.update(run_baselines(bot, cases))
            timings["baselines"] = time.perf_counter() - t1
        cal = (
            calibration_view(extractive, gold, run_id, with_test=split != "dev")
            if calibration
            else None
        )
    meta = {
        **describe(bot),
        "split": split,
        "gold": str(gold),
        "cases": len(cases),
        "systems": list(records),
        "date": started.isoformat(timespec="seconds"),
    }
    return EvalRun(split, started, meta, records, cal, time.perf_counter() - t0, audits, timings)
