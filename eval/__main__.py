"""`python -m eval [--split test|dev|all] [--gold FILE]... [--out eval/reports] [--no-baselines] [--no-llm]`: run and report.

Each gold set gets its own report: by default eval/gold.jsonl (under OUT) and the customers'
own questions and conversations, eval/customers.jsonl (under OUT/customers), each against its
floors file (harness.floors_for).

With an LLM configured (KEFU_LLM_BASE_URL and KEFU_LLM_MODEL) the cases run twice, extractive
(`kefu`, the one the floors gate) and generative (`kefu+llm`), and the report sets them side by side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from eval.harness import CUSTOMERS, GOLD, OURS, OURS_LLM, SPLITS, floors_for, load_floors, run_eval
from eval.metrics import check_floors
from eval.report import HEADLINE, fmt, write_report

SUMMARY_KEYS = (
    "outcome_accuracy",
    "key_fact_accuracy",
    "citation_accuracy",
    "hit_at_1",
    "invented_numbers",
    "forbidden_hits",
    "pii_in_storage",
    "pii_in_answers",
    "off_subject_answers",
    "english_in_chinese",
    "answer_chars_median",
    "latency_p50_ms",
    "latency_p95_ms",
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    ap.add_argument(
        "--split", choices=SPLITS, default="test", help="gold split to report on (default: test)"
    )
    ap.add_argument("--out", type=Path, default=Path("eval/reports"), help="reports folder")
    ap.add_argument(
        "--gold",
        type=Path,
        action="append",
        help="gold cases (JSONL); repeat for several sets (default: eval/gold.jsonl and "
        "eval/customers.jsonl)",
    )
    ap.add_argument(
        "--no-baselines", action="store_true", help="skip the vector-only and BM25-only baselines"
    )
    ap.add_argument(
        "--no-calibration", action="store_true", help="skip the dev coverage-accuracy view"
    )
    ap.add_argument(
        "--no-llm",
        action="store_true",
        help="run only the extractive bot even when an LLM endpoint is configured",
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help=f"exit 1 when a test-split metric of `{OURS}` is below its floor",
    )
    return ap


def _summary(run) -> str:
    labels = {key: (label, kind) for label, key, kind in HEADLINE}
    names = list(run.metrics)
    width = max(len(n) for n in names) + 2
    pad = max(len(labels[key][0]) for key in SUMMARY_KEYS) + 1
    lines = [" " * pad + "".join(n.rjust(width) for n in names)]
    for key in SUMMARY_KEYS:
        label, kind = labels[key]
        lines.append(
            label.ljust(pad)
            + "".join(fmt(run.metrics[n]["overall"][key], kind).rjust(width) for n in names)
        )
    return "\n".join(lines)


def _settings():
    from pydantic import ValidationError

    from bot.errors import ConfigError
    from bot.settings import Settings

    try:
        # Eval tickets live in a throw-away store and must never reach the helpdesk webhook.
        return Settings().model_copy(update={"webhook_url": None})
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"invalid setting: {err['loc'][0]}: {err['msg']}") from e


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from bot.cli import EXIT, stdout_to_stderr
    from bot.errors import KefuError
    from bot.factory import build_bot
    from bot.tickets.store import TicketStore

    golds = args.gold or [GOLD, CUSTOMERS]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        # The bot built here only lends its index and model: the cases run in sandboxed copies
        # (run_eval). Its own ticket store is throw-away too, so staff's queue is never opened.
        tickets = TicketStore(f"sqlite:///{Path(tmp) / 'eval_tickets.db'}")
        try:
            with stdout_to_stderr():
                bot = build_bot(_settings(), tickets=tickets, chat_log=False)
            for gold in golds:
                t0 = time.perf_counter()
                with stdout_to_stderr():
                    run = run_eval(
                        bot,
                        args.split,
                        baselines=not args.no_baselines,
                        calibration=not args.no_calibration,
                        gold=gold,
                        llm=not args.no_llm,
                    )
                out = args.out if gold == golds[0] else args.out / gold.stem
                failed |= _report(run, gold, out, args, t0, several=len(golds) > 1)
        except KefuError as e:
            print(f"eval: {e}", file=sys.stderr)
            return next((code for cls, code in EXIT.items() if isinstance(e, cls)), 1)
        finally:
            tickets.engine.dispose()
    return 1 if failed else 0


def _report(run, gold: Path, out: Path, args, t0: float, several: bool) -> bool:
    """Write and print one gold set's report; True when --check finds a floor broken."""
    path = floors_for(gold)
    floors = load_floors(path) if path.exists() else None
    folder = write_report(run, out, floors)
    if several:
        print(f"\n== {gold.name} ({args.split} split, {len(run.records[OURS])} cases)")
    print(_summary(run))
    if OURS_LLM in run.records:
        m = run.metrics[OURS_LLM]["overall"]
        print(
            f"{OURS_LLM}: {fmt(m['llm_share'])} of answered turns generated, "
            f"{m['llm_fallbacks']} fallbacks, guard dropped sentences in "
            f"{m['llm_guard_dropped_turns']} turns"
        )
    took = ", ".join(f"{n} {s:.0f} s" for n, s in run.timings.items())
    print(f"report: {folder / 'report.md'}  ({time.perf_counter() - t0:.1f} s in all: {took})")
    broken = (
        check_floors(run.metrics[OURS]["overall"], floors)
        if floors and args.split == "test"
        else []
    )
    for line in broken:
        print(f"below floor ({gold.name}): {line}", file=sys.stderr)
    return bool(args.check and broken)


if __name__ == "__main__":
    raise SystemExit(main())
