"""`python -m eval [--split test|dev|all] [--out eval/reports] [--no-baselines] [--no-llm]`: run and report.

With an LLM configured (KEFU_LLM_BASE_URL and KEFU_LLM_MODEL) the cases run twice, extractive
(`kefu`, the one the floors gate) and generative (`kefu+llm`), and the report sets them side by side.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from eval.harness import FLOORS, GOLD, OURS, OURS_LLM, SPLITS, load_floors, run_eval
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
    "latency_p50_ms",
    "latency_p95_ms",
)


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    ap.add_argument(
        "--split", choices=SPLITS, default="test", help="gold split to report on (default: test)"
    )
    ap.add_argument("--out", type=Path, default=Path("eval/reports"), help="reports folder")
    ap.add_argument("--gold", type=Path, default=GOLD, help="gold cases (JSONL)")
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
    lines = [" " * 30 + "".join(n.rjust(width) for n in names)]
    for key in SUMMARY_KEYS:
        label, kind = labels[key]
        lines.append(
            label.ljust(30)
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

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        # The bot built here only lends its index and model: the cases run in sandboxed copies
        # (run_eval). Its own ticket store is throw-away too, so staff's queue is never opened.
        tickets = TicketStore(f"sqlite:///{Path(tmp) / 'eval_tickets.db'}")
        try:
            with stdout_to_stderr():
                bot = build_bot(_settings(), tickets=tickets, chat_log=False)
                run = run_eval(
                    bot,
                    args.split,
                    baselines=not args.no_baselines,
                    calibration=not args.no_calibration,
                    gold=args.gold,
                    llm=not args.no_llm,
                )
        except KefuError as e:
            print(f"eval: {e}", file=sys.stderr)
            return next((code for cls, code in EXIT.items() if isinstance(e, cls)), 1)
        finally:
            tickets.engine.dispose()
    floors = load_floors(FLOORS) if FLOORS.exists() else None
    folder = write_report(run, args.out, floors)
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
        print(f"below floor: {line}", file=sys.stderr)
    return 1 if args.check and broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
