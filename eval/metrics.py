"""Metrics over result records: pure functions, so each one is unit-tested on hand-made records.

A record is one gold case plus what a system (the bot or a baseline) returned for it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.guard.numbers import unsupported_numbers

_CITE_MARK = re.compile(r"\[\d+\]")
_TICKET_ID = re.compile(r"KF-[A-Z2-9]{6}", re.I)
# What bot.guard.pii.mask_pii leaves of a customer's contact (138****5678, z***@163.com,
# **** **** **** 0128): an echo of their own data, not a figure the bot states.
_MASKED_PII = re.compile(r"[0-9A-Za-z.+\-]*\*{3,}(?:[ *]*\*)? ?[0-9A-Za-z.@\-]*")
_PII_SEPARATORS = re.compile(r"[\s\-]")


@dataclass
class Record:
    """One gold case and one system's reply to it."""

    id: str
    category: str
    question: str
    expected_outcome: list[str]
    outcome: str
    answer: str = ""
    key_facts: list[list[str]] = field(default_factory=list)
    expected_sources: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    citations: list[dict] = field(default_factory=list)  # doc_id, title, source, text
    retrieved: list[dict] = field(default_factory=list)  # doc_id, score, dense, sparse, text
    latency_ms: float = 0.0
    confidence: float = 0.0
    reason: str = ""
    ticket_id: str | None = None
    session: str | None = None
    split: str = ""
    pii: list[str] = field(default_factory=list)  # personal data the question carries
    meta: dict = field(default_factory=dict)  # Answer.meta: which answerer, what the guard did

    @classmethod
    def from_case(cls, case: dict, **got) -> Record:
        """The gold fields of `case` plus the reply fields in `got`."""
        return cls(
            id=case["id"],
            category=case["category"],
            question=case["question"],
            expected_outcome=list(case["expected_outcome"]),
            key_facts=case.get("key_facts", []),
            expected_sources=case.get("expected_sources", []),
            forbidden=case.get("forbidden", []),
            session=case.get("session"),
            split=case.get("split", ""),
            pii=case.get("pii", []),
            **got,
        )


# -- per record ---------------------------------------------------------------------
def outcome_ok(r: Record) -> bool:
    """The outcome is one the case accepts."""
    return r.outcome in r.expected_outcome


def missing_facts(r: Record) -> list[list[str]]:
    """Key-fact groups with no variant in the answer (case-insensitive substrings)."""
    text = r.answer.lower()
    return [g for g in r.key_facts if not any(v.lower() in text for v in g)]


def facts_ok(r: Record) -> bool:
    """Every key-fact group has at least one variant in the answer."""
    return not missing_facts(r)


def cited_ok(r: Record) -> bool:
    """An answered case that names sources cites at least one of them."""
    if r.outcome != "answered" or not r.expected_sources:
        return True
    return bool({c["doc_id"] for c in r.citations} & set(r.expected_sources))


def off_subject(r: Record) -> bool:
    """An answer about another subject than asked: it cites sources, and none of them is one
    the case expects (the repair-time FAQ for a warranty question)."""
    if r.outcome != "answered" or not r.expected_sources or not r.citations:
        return False
    return not cited_ok(r)


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_ENGLISH_WORD = re.compile(r"\b[A-Za-z]*[a-z][A-Za-z]*\b")  # names and acronyms (OPPO, APP) aside


def turn_languages(records: Sequence[Record]) -> list[str]:
    """The language of each turn's conversation ("zh" | "en"): what the question is written
    in, and for a turn that shows none ("OPPO", "KF-7Q2M9X", "ok"), the turn before's."""
    out, last = [], {}
    for r in records:
        words = _LATIN_WORD.findall(_TICKET_ID.sub(" ", r.question))
        if len(_CJK.findall(r.question)) >= 2:
            lang = "zh"
        elif len(words) >= 2:
            lang = "en"
        else:
            lang = last.get(r.session, "zh") if r.session else "zh"
        if r.session:
            last[r.session] = lang
        out.append(lang)
    return out


def english_lines(answer: str) -> list[str]:
    """Lines of an answer written in English: three or more English words, more of their
    letters than Chinese characters (a product name or "APP" in a Chinese line does not count)."""
    return [
        line
        for line in answer.splitlines()
        if len(words := [w for w in _ENGLISH_WORD.findall(line) if len(w) >= 2]) >= 3
        and sum(len(w) for w in words) > len(_CJK.findall(line))
    ]


def forbidden_hits(r: Record) -> list[str]:
    """The forbidden patterns that match the answer."""
    return [p for p in r.forbidden if re.search(p, r.answer)]


def invented_numbers(r: Record) -> list[str]:
    """Figures in the answer that no cited text holds.

    Ticket ids and masked contacts (138****5678) are identifiers, not figures, so they are left
    out; a reply without citations (refusal, handoff) has nothing to support any figure it states.
    """
    text = _MASKED_PII.sub("", _TICKET_ID.sub("", _CITE_MARK.sub("", r.answer)))
    return unsupported_numbers(
        text, [f"{c.get('title', '')}\n{c.get('text', '')}" for c in r.citations]
    )


def _squeeze(text: str) -> str:
    return _PII_SEPARATORS.sub("", text).lower()


def repeated_pii(r: Record, values: Sequence[str] | None = None) -> list[str]:
    """The PII values (the case's own by default) that the answer repeats in full.

    Spaces and hyphens are ignored, so 138 1234 5678 still counts as 13812345678.
    """
    text = _squeeze(r.answer)
    return [v for v in (r.pii if values is None else values) if _squeeze(v) in text]


def doc_ranking(r: Record) -> list[str]:
    """Distinct doc ids of the retrieved hits, best first."""
    return list(dict.fromkeys(h["doc_id"] for h in r.retrieved))


def hit_at(r: Record, k: int) -> bool:
    """An expected source is among the top k distinct retrieved docs."""
    return bool(set(doc_ranking(r)[:k]) & set(r.expected_sources))


def reciprocal_rank(r: Record) -> float:
    """1/rank of the first expected source among the retrieved docs (0 when absent)."""
    for rank, doc in enumerate(doc_ranking(r), 1):
        if doc in r.expected_sources:
            return 1.0 / rank
    return 0.0


def failure_reasons(r: Record) -> list[str]:
    """Why a case fails, in words; empty when it passes."""
    out = []
    if not outcome_ok(r):
        out.append(f"outcome {r.outcome} (expected {'|'.join(r.expected_outcome)})")
    if r.outcome == "answered":
        missing = missing_facts(r)
        if missing:
            out.append("missing facts " + ", ".join("|".join(g) for g in missing))
        if not cited_ok(r):
            out.append("cites none of " + ", ".join(r.expected_sources))
    if hits := forbidden_hits(r):
        out.append(f"forbidden {len(hits)}×")
    if nums := invented_numbers(r):
        out.append("invented " + ", ".join(nums))
    if repeated_pii(r):
        out.append("repeats the customer's PII")
    return out


def passes(r: Record) -> bool:
    """Right outcome; if answered, all key facts and a right citation; nothing forbidden, invented
    or repeated from the customer's personal data."""
    return not failure_reasons(r)


# -- aggregates ---------------------------------------------------------------------
def rate(hits: Sequence[bool]) -> float | None:
    """Share of True, or None for an empty list (shown as n/a, never as 0 or 100%)."""
    return sum(hits) / len(hits) if hits else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100), None when there are no values."""
    return float(np.percentile(values, p)) if len(values) else None


def _where(records: Sequence[Record], keep: Callable[[Record], bool]) -> list[Record]:
    return [r for r in records if keep(r)]


def escalation_scores(records: Sequence[Record]) -> tuple[float | None, float | None]:
    """(precision, recall): positives are cases that accept only `escalated`."""
    positive = [r.expected_outcome == ["escalated"] for r in records]
    predicted = [r.outcome == "escalated" for r in records]
    tp = sum(p and q for p, q in zip(positive, predicted, strict=True))
    precision = tp / sum(predicted) if any(predicted) else None
    recall = tp / sum(positive) if any(positive) else None
    return precision, recall


LLM_KEYS = (
    "llm_turns",
    "llm_share",
    "llm_answers",
    "llm_guard_dropped_turns",
    "llm_dropped_sentences",
    "llm_fallbacks",
    "llm_fallback_reasons",
    "llm_first_token_p50_ms",
    "llm_first_token_p95_ms",
    "llm_latency_p50_ms",
    "llm_latency_p95_ms",
)


def fallback_kind(reason: str) -> str:
    """A fallback reason without its detail: "guard: …" and "ValueError: …" group by kind."""
    return reason.split(":", 1)[0]


def llm_summary(records: Sequence[Record]) -> dict:
    """What the generative answerer did: all None when no turn tried it (extractive, baselines).

    A turn tried it when its meta carries LLM fields (answered from retrieval, not a vetted FAQ
    answer). `llm_share` is over all answered turns; the guard figures over tried turns.
    """
    tried = [r for r in records if "llm_latency_ms" in r.meta]
    if not tried:
        return dict.fromkeys(LLM_KEYS)
    answered = [r for r in records if r.outcome == "answered"]
    first = [r.meta["llm_first_token_ms"] for r in tried if r.meta.get("llm_first_token_ms")]
    took = [r.meta["llm_latency_ms"] for r in tried]
    reasons = Counter(
        fallback_kind(r.meta["llm_fallback"]) for r in tried if r.meta.get("llm_fallback")
    )
    return {
        "llm_turns": len(tried),
        "llm_share": rate([r.meta.get("answerer") == "llm" for r in answered]),
        "llm_answers": sum(r.meta.get("answerer") == "llm" for r in answered),
        "llm_guard_dropped_turns": sum(r.meta.get("llm_dropped_sentences", 0) > 0 for r in tried),
        "llm_dropped_sentences": sum(r.meta.get("llm_dropped_sentences", 0) for r in tried),
        "llm_fallbacks": sum(reasons.values()),
        "llm_fallback_reasons": dict(reasons.most_common()),
        "llm_first_token_p50_ms": percentile(first, 50),
        "llm_first_token_p95_ms": percentile(first, 95),
        "llm_latency_p50_ms": percentile(took, 50),
        "llm_latency_p95_ms": percentile(took, 95),
    }


def summarize(records: Sequence[Record]) -> dict:
    """Every headline metric over `records` (None where a metric has no cases)."""
    answered = _where(records, lambda r: r.outcome == "answered" and bool(r.key_facts))
    sourced = _where(records, lambda r: bool(r.expected_sources))
    precision, recall = escalation_scores(records)
    oos = _where(records, lambda r: r.category == "out-of-scope")
    conflicts = _where(records, lambda r: r.category == "conflicts")
    latency = [r.latency_ms for r in records]
    # Any case's PII, not only the answer's own case: one customer's data must not reach another.
    pii = list(dict.fromkeys(v for r in records for v in r.pii))
    return {
        "cases": len(records),
        "pass_rate": rate([passes(r) for r in records]),
        "outcome_accuracy": rate([outcome_ok(r) for r in records]),
        "key_fact_accuracy": rate([facts_ok(r) for r in answered]),
        "key_fact_cases": len(answered),
        "citation_accuracy": rate(
            [cited_ok(r) for r in records if r.outcome == "answered" and r.expected_sources]
        ),
        "hit_at_1": rate([hit_at(r, 1) for r in sourced]),
        "hit_at_3": rate([hit_at(r, 3) for r in sourced]),
        "mrr": sum(reciprocal_rank(r) for r in sourced) / len(sourced) if sourced else None,
        "retrieval_cases": len(sourced),
        "escalation_precision": precision,
        "escalation_recall": recall,
        "out_of_scope_refusal_rate": rate([r.outcome == "refused" for r in oos]),
        "conflict_disclosure_rate": rate([facts_ok(r) for r in conflicts]),
        "invented_numbers": sum(len(invented_numbers(r)) for r in records),
        "forbidden_hits": sum(len(forbidden_hits(r)) for r in records),
        "pii_cases": sum(bool(r.pii) for r in records),
        "pii_in_answers": sum(bool(repeated_pii(r, pii)) for r in records),
        "off_subject_answers": sum(off_subject(r) for r in records),
        "english_in_chinese": sum(
            bool(english_lines(r.answer))
            for r, lang in zip(records, turn_languages(records), strict=True)
            if lang == "zh"
        ),
        "answer_chars_median": percentile(
            [len(r.answer) for r in records if r.outcome == "answered"], 50
        ),
        "answered_share": rate([r.outcome == "answered" for r in records]),
        "latency_p50_ms": percentile(latency, 50),
        "latency_p95_ms": percentile(latency, 95),
        **llm_summary(records),
    }


def by_category(records: Sequence[Record]) -> dict[str, dict]:
    """summarize() per category, in the order categories first appear."""
    cats = list(dict.fromkeys(r.category for r in records))
    return {c: summarize([r for r in records if r.category == c]) for c in cats}


def check_floors(summary: dict, floors: dict) -> list[str]:
    """Floor violations as readable lines; floors is {"min": {...}, "max": {...}}."""
    out = []
    for name, low in floors.get("min", {}).items():
        value = summary.get(name)
        if value is None or value < low:
            out.append(f"{name} = {value} < floor {low}")
    for name, high in floors.get("max", {}).items():
        value = summary.get(name)
        if value is None or value > high:
            out.append(f"{name} = {value} > ceiling {high}")
    return out
