"""Knowledge gaps: the chat-log turns the bot could not answer well, grouped by similarity.

The backlog for whoever maintains knowledge/: most frequent first, with how each was handled.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.understand import Reader

LOW_CONFIDENCE = 0.5
# Cosine on the bot's query vectors. multilingual-e5-small puts paraphrases at about 0.94-0.99
# and different questions on the same brand at 0.90-0.93; other models need their own value.
EMBED_THRESHOLD = 0.94
JACCARD_THRESHOLD = 0.5

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN = re.compile(r"[a-z0-9]+")
# Particles that change nothing a maintainer cares about: "客服电话多少" = "客服的电话是多少?".
_FILLER = re.compile(r"[的了吗呢吧啊呀么是请问]")

Embed = Callable[[list[str]], np.ndarray]


@dataclass
class Group:
    """Similar gap questions: how often they were asked, how they were handled, when last."""

    questions: list[str]  # distinct wordings, most asked first
    count: int = 0  # turns
    outcomes: Counter = field(default_factory=Counter)  # "escalated (low_confidence)" -> turns
    last_seen: str = ""
    brand: str | None = None

    @property
    def example(self) -> str:
        return self.questions[0]


def is_gap(record: dict) -> bool:
    """Refused, escalated, clarified, or answered with low confidence."""
    outcome = record.get("outcome")
    if outcome in ("refused", "escalated", "clarify"):
        return True
    return outcome == "answered" and float(record.get("confidence", 1.0)) < LOW_CONFIDENCE


def handling(record: dict) -> str:
    """How the turn was handled, with the reason: `escalated (trigger:human)`."""
    outcome, reason = record.get("outcome", "?"), record.get("reason") or ""
    if outcome == "answered":
        return f"answered (confidence {float(record.get('confidence', 0)):.2f})"
    return f"{outcome} ({reason})" if reason else outcome


def _key(question: str) -> str:
    return " ".join(question.lower().split())


def tokens(text: str) -> set[str]:
    """Character bigrams of Chinese runs (fillers dropped) plus Latin words and numbers."""
    low = text.lower()
    out: set[str] = set(_LATIN.findall(low))
    for run in _CJK_RUN.findall(_FILLER.sub("", low)):
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def jaccard(a: set[str], b: set[str]) -> float:
    """|a ∩ b| / |a ∪ b|, 0 for two empty sets."""
    return len(a & b) / len(a | b) if a | b else 0.0


def _similarity(questions: list[str], embed: Embed | None) -> np.ndarray:
    """Pairwise similarity: cosine of query vectors, or bigram Jaccard without a model."""
    if embed is not None:
        v = np.asarray(embed(questions), dtype=np.float32)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return v @ v.T
    toks = [tokens(q) for q in questions]
    return np.array([[jaccard(a, b) for b in toks] for a in toks], dtype=np.float32)


def knowledge_gaps(
    records: Sequence[dict],
    embed: Embed | None = None,
    threshold: float | None = None,
    reader: Reader | None = None,
) -> list[Group]:
    """Gap turns grouped by similarity (greedy, against each group's most asked wording).

    `embed` is the bot embedder's `embed_queries`; without it, bigram Jaccard is used. Questions
    about different products (ours by the profile `reader` knows, another brand, none named)
    never share a group. Most frequent groups
    first, then most recent.
    """
    if threshold is None:
        threshold = EMBED_THRESHOLD if embed is not None else JACCARD_THRESHOLD
    by_question: dict[str, list[dict]] = {}
    for r in records:
        if is_gap(r) and str(r.get("question", "")).strip():
            by_question.setdefault(_key(r["question"]), []).append(r)
    if not by_question:
        return []
    # Most asked (then most recent) wordings first, so they seed the groups. Sorts are stable.
    distinct = sorted(by_question, key=lambda q: _last(by_question[q]), reverse=True)
    distinct.sort(key=lambda q: len(by_question[q]), reverse=True)
    texts = [by_question[q][-1]["question"].strip() for q in distinct]
    sim = _similarity(texts, embed)
    reader = reader or Reader()
    brands = [_brand(t, reader) for t in texts]
    seeds: list[int] = []
    groups: list[Group] = []
    for i, q in enumerate(distinct):
        match = [
            g for g, s in enumerate(seeds) if brands[s] == brands[i] and sim[i, s] >= threshold
        ]
        if match:
            group = groups[max(match, key=lambda g: sim[i, seeds[g]])]
        else:
            seeds.append(i)
            group = Group(questions=[], brand=brands[i])
            groups.append(group)
        turns = by_question[q]
        group.questions.append(texts[i])
        group.count += len(turns)
        group.outcomes.update(handling(r) for r in turns)
        group.last_seen = max(group.last_seen, _last(turns))
    groups.sort(key=lambda g: g.last_seen, reverse=True)
    groups.sort(key=lambda g: g.count, reverse=True)
    return groups


def _brand(question: str, reader: Reader) -> str | None:
    """Our product the question names or hints at, `other` for another brand, else None."""
    r = reader.read(question)
    return r.brand_hint or ("other" if r.other_brand else None)


def _last(turns: Sequence[dict]) -> str:
    """The latest ISO timestamp among turns ('' when none has one)."""
    return max((str(r.get("ts") or "") for r in turns), default="")


def format_gaps(groups: Sequence[Group], limit: int = 30, examples: int = 5) -> str:
    """The backlog as Markdown: one numbered entry per group."""
    turns = sum(g.count for g in groups)
    lines = [f"# Knowledge gaps: {turns} turns in {len(groups)} groups", ""]
    if not groups:
        return (
            lines[0] + "\n\nNo refused, escalated, clarified or low-confidence turns in the log.\n"
        )
    for n, g in enumerate(groups[:limit], 1):
        handled = ", ".join(f"{k} ×{v}" for k, v in g.outcomes.most_common())
        lines.append(
            f"{n}. **{_md(g.example)}** ({g.count}×, brand {g.brand or 'unknown'}, last {g.last_seen or '?'})"
        )
        lines.append(f"   - handled: {handled}")
        lines += [f"   - also asked: {_md(q)}" for q in g.questions[1:examples]]
        if len(g.questions) > examples:
            lines.append(f"   - … and {len(g.questions) - examples} more wordings")
    if len(groups) > limit:
        lines.append(f"\n{len(groups) - limit} smaller groups not shown.")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """One line, Markdown emphasis characters escaped."""
    return re.sub(r"([*_`\[\]])", r"\\\1", " ".join(text.split()))
