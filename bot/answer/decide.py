"""The decision: one outcome per turn from retrieval scores and calibrated thresholds.

Pure and cheap, so `python -m bot calibrate` can sweep thresholds over it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.retrieve.answer_type import addresses, asked_types
from bot.types import Outcome, Reason, Retrieval
from bot.understand import Reading

FAQ_MAX_RANK = 1
# How far below the refuse threshold a question may score and still be answered, when the top
# hit names every part and product it asks about (Retrieval.covered), or the closest passage
# by meaning is also the best keyword match (Retrieval.agreed: "周末打热线有人接吗").
COVERED_SLACK = 0.04


@dataclass(frozen=True)
class Thresholds:
    faq: float
    answer: float
    refuse: float

    @classmethod
    def of(cls, settings) -> Thresholds:
        return cls(settings.faq_threshold, settings.answer_threshold, settings.refuse_threshold)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: Reason
    score: float = 0.0


def _brand_ambiguous(reading: Reading, retrieval: Retrieval) -> bool:
    """The product matters and the question alone does not tell which one: the best hits are
    about different products, or the question is too bare to tell and the best hits are
    about a product at all (not about the company as a whole)."""
    brands = {h.chunk.brand for h in retrieval.hits[:3]} - {"general"}
    return len(brands) > 1 or (reading.residual_chars < 4 and bool(brands))


def _states_less(fm, retrieval: Retrieval) -> bool:
    """The question asks for a value (a price, a number, a duration) that the FAQ's answer
    neither gives nor says is unknown, while a retrieved passage gives it: "两种滤芯各多少钱"
    is not answered by the FAQ on when to change filters, however alike the two read."""
    q = retrieval.query
    if addresses(q, fm.faq.answer):
        return False
    return any(p.search(h.chunk.text) for h in retrieval.hits for p in asked_types(q))


def decide(reading: Reading, brand: str | None, retrieval: Retrieval, th: Thresholds) -> Decision:
    """answered (faq | retrieval), clarify, refused or escalated (low confidence)."""
    if reading.other_brand:
        return Decision("refused", Reason.OTHER_BRAND)
    if reading.off_topic:
        return Decision("refused", Reason.OUT_OF_SCOPE)
    bare = reading.several and reading.in_domain and reading.residual_chars <= 4
    if brand is None and (reading.brand_sensitive or bare) and _brand_ambiguous(reading, retrieval):
        return Decision("clarify", Reason.BRAND_UNKNOWN)
    fm = retrieval.faq_match
    # FAQ-first needs two signals to agree: a close phrasing and a top rank in hybrid retrieval.
    # A near-verbatim phrasing match is trusted on its own.
    ranked = fm is not None and fm.rank is not None and fm.rank < FAQ_MAX_RANK
    if fm and fm.score >= th.faq and (ranked or fm.verbatim) and not _states_less(fm, retrieval):
        return Decision("answered", Reason.FAQ, fm.score)
    top = retrieval.top_dense
    if not retrieval.hits or (top < th.answer and not reading.in_domain):
        return Decision("refused", Reason.OUT_OF_SCOPE, top)
    evidence = retrieval.covered or retrieval.agreed
    if top < th.refuse and not (evidence and top >= th.refuse - COVERED_SLACK):
        return Decision("escalated", Reason.LOW_CONFIDENCE, top)
    return Decision("answered", Reason.RETRIEVAL, top)
