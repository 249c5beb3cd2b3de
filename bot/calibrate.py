"""Reproducible threshold calibration: sweep the decision thresholds on gold questions.

Target: the most correct outcomes with at most `max_wrong_answered` wrong answers among those
the bot answers. The chosen thresholds are written to DATA_DIR/thresholds.json, beside the index
they were fitted on, where settings read them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from bot.answer.decide import Thresholds, decide

MAX_WRONG_ANSWERED = 0.02


def load_gold(path: Path, split: str | None = None) -> list[dict]:
    cases = [
        json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()
    ]
    return [c for c in cases if split is None or c.get("split") == split]


def _answer_doc(state, decision) -> str | None:
    if decision.reason == "faq":
        return state.retrieval.faq_match.faq.doc
    hits = state.retrieval.hits if state.retrieval else []
    return hits[0].chunk.doc_id if hits else None


def score(cases, states, th: Thresholds) -> tuple[int, int, int]:
    """(correct outcomes, answered, wrong among answered)."""
    correct = answered = wrong = 0
    for case, state in zip(cases, states, strict=True):
        if state.outcome is not None:  # decided before thresholds matter (trigger, injection)
            outcome, doc = state.outcome, None
        else:
            d = decide(state.reading, state.brand, state.retrieval, th)
            outcome, doc = d.outcome, _answer_doc(state, d)
        ok = outcome in case["expected_outcome"]
        if outcome == "answered" and state.reason != "ticket_status":
            answered += 1
            expected = case.get("expected_sources") or []
            if not ok or (expected and doc not in expected):
                wrong += 1
                ok = False
        correct += ok
    return correct, answered, wrong


def sweep(cases: list[dict], states: list, max_wrong: float = MAX_WRONG_ANSWERED) -> dict:
    """Grid search. Many thresholds usually tie (the questions leave gaps between their
    scores); of the tied ones the middle is kept, as far as the data allow from the cases on
    either side, rather than the edge of the plateau, where the next question falls over."""
    best, tied, curve = None, [], []
    for refuse in np.arange(0.76, 0.90, 0.005):
        for answer in np.arange(refuse, 0.92, 0.005):
            for faq in np.arange(0.86, 0.985, 0.005):
                th = Thresholds(
                    round(float(faq), 3), round(float(answer), 3), round(float(refuse), 3)
                )
                correct, answered, wrong = score(cases, states, th)
                rate = wrong / answered if answered else 0.0
                curve.append((answered / len(cases), 1 - rate))
                key = (rate <= max_wrong, correct, -wrong)
                if best is None or key > best:
                    best, tied = key, []
                if key == best:
                    tied.append((th.refuse, th.faq, th.answer, th, correct, answered, wrong))
    tied.sort(key=lambda t: t[:3])
    *_, th, correct, answered, wrong = tied[len(tied) // 2]
    return {
        "thresholds": {
            "faq_threshold": th.faq,
            "answer_threshold": th.answer,
            "refuse_threshold": th.refuse,
        },
        "dev": {
            "cases": len(cases),
            "outcome_accuracy": round(correct / len(cases), 4),
            "answered": answered,
            "wrong_among_answered": wrong,
            "target_max_wrong_answered": max_wrong,
            "target_met": (wrong / answered if answered else 0) <= max_wrong,
        },
        "curve": sorted(set((round(c, 3), round(a, 3)) for c, a in curve)),
    }


def calibrate(settings, gold: Path, split: str = "dev", write: bool = True) -> dict:
    from bot.factory import build_bot

    bot = build_bot(settings, chat_log=False)
    # Single-turn cases only: a follow-up's retrieval depends on the earlier turns' outcomes,
    # which themselves depend on the thresholds being swept.
    cases = [c for c in load_gold(gold, split) if not c.get("session")]
    states = [bot.prepare(c["question"], session_id=f"calibrate:{c['id']}") for c in cases]
    result = sweep(cases, states)
    result["calibrated_on"] = {
        "gold": str(gold),
        "split": split,
        "model": bot.retriever.embedder.fingerprint,
        "knowledge": bot.corpus.fingerprint,
        "date": dt.date.today().isoformat(),
    }
    if write:
        out = {k: v for k, v in result.items() if k != "curve"}
        write_thresholds(settings.thresholds_path, out)
    return {k: v for k, v in result.items() if k != "curve"}


def write_thresholds(path: Path, content: dict) -> None:
    """Replace the thresholds file atomically: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
