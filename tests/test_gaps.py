"""Knowledge gaps from the chat log: which turns count, how they group, what comes first."""

from __future__ import annotations

import numpy as np

from bot.gaps import Group, format_gaps, is_gap, jaccard, knowledge_gaps, tokens
from bot.profile import load_profile
from bot.understand import Reader
from tests.conftest import KNOWLEDGE

SAMPLE = Reader(load_profile(KNOWLEDGE))  # the sample knowledge base's products


def gaps(records, **kw):
    return knowledge_gaps(records, reader=SAMPLE, **kw)


def turn(
    question: str,
    outcome: str = "escalated",
    reason: str = "low_confidence",
    confidence: float = 0.0,
    ts: str = "2025-01-01T00:00:00+00:00",
) -> dict:
    return {
        "question": question,
        "outcome": outcome,
        "reason": reason,
        "confidence": confidence,
        "citations": [],
        "session": "s",
        "ts": ts,
    }


def test_only_unanswered_or_unsure_turns_are_gaps():
    assert is_gap(turn("q", "refused", "out_of_scope"))
    assert is_gap(turn("q", "escalated", "trigger:human"))
    assert is_gap(turn("q", "clarify", "brand_unknown"))
    assert is_gap(turn("q", "answered", "retrieval", confidence=0.3))
    assert not is_gap(turn("q", "answered", "faq", confidence=0.9))
    assert gaps([turn("奥普浴霸保修多久", "answered", "faq", confidence=1.0)]) == []


def test_bigram_tokens_ignore_particles_and_keep_latin_words():
    assert tokens("奥普客服电话多少") == tokens("奥普的客服电话是多少?")
    assert {"oppo", "hotline"} <= tokens("OPPO hotline?")
    assert jaccard(tokens("奥普浴霸保修多久"), tokens("奥普浴霸保修多久啊")) == 1.0
    assert jaccard(set(), set()) == 0.0


def test_similar_questions_group_and_the_most_frequent_group_comes_first():
    records = [
        turn(
            "OPPO 电池鼓包了怎么办",
            "escalated",
            "trigger:safety",
            1.0,
            ts="2025-01-01T09:00:00+00:00",
        ),
        turn("奥普浴霸保修多久", ts="2025-01-02T09:00:00+00:00"),
        turn("奥普浴霸保修多久啊", "refused", "out_of_scope", ts="2025-01-03T09:00:00+00:00"),
        turn("奥普浴霸的保修多久?", ts="2025-01-04T09:00:00+00:00"),
        turn("奥普浴霸保修多久", ts="2025-01-05T09:00:00+00:00"),
        turn("今天天气怎么样", "refused", "out_of_scope"),
    ]
    groups = gaps(records)
    assert [g.count for g in groups] == [4, 1, 1]
    top = groups[0]
    assert top.example == "奥普浴霸保修多久"  # the most asked wording names the group
    assert set(top.questions) == {"奥普浴霸保修多久", "奥普浴霸保修多久啊", "奥普浴霸的保修多久?"}
    assert top.outcomes == {"escalated (low_confidence)": 3, "refused (out_of_scope)": 1}
    assert top.last_seen == "2025-01-05T09:00:00+00:00"
    assert top.brand == "aupu"
    assert [g.example for g in groups[1:]] == ["OPPO 电池鼓包了怎么办", "今天天气怎么样"]


def test_ties_go_to_the_most_recent_group():
    records = [
        turn("OPPO 换屏多少钱", ts="2025-01-01T00:00:00+00:00"),
        turn("今天天气怎么样", "refused", "out_of_scope", ts="2025-03-01T00:00:00+00:00"),
    ]
    assert [g.example for g in gaps(records)] == ["今天天气怎么样", "OPPO 换屏多少钱"]


def test_the_same_question_about_another_brand_is_another_gap():
    groups = gaps([turn("奥普客服电话多少"), turn("OPPO客服电话多少"), turn("OPPO客服电话多少")])
    assert [(g.brand, g.count) for g in groups] == [("oppo", 2), ("aupu", 1)]
    other = turn("华为客服电话多少", "refused", "other_brand", ts="2025-02-01T00:00:00+00:00")
    groups = gaps([turn("客服电话多少"), other])
    assert [(g.brand, g.count) for g in groups] == [("other", 1), (None, 1)]


def test_embedding_similarity_groups_what_bigrams_cannot():
    vectors = {"电池不耐用了": [1.0, 0.0], "手机掉电很快": [0.99, 0.14], "天气如何": [0.0, 1.0]}

    def embed(texts: list[str]) -> np.ndarray:
        return np.array([vectors[t] for t in texts])

    records = [
        turn("电池不耐用了"),
        turn("手机掉电很快"),
        turn("天气如何", "refused", "out_of_scope"),
    ]
    assert len(gaps(records)) == 3  # no bigram in common
    groups = gaps(records, embed=embed, threshold=0.9)
    assert [g.count for g in groups] == [2, 1]
    assert set(groups[0].questions) == {"电池不耐用了", "手机掉电很快"}


def test_markdown_lists_each_group_with_its_handling():
    groups = gaps(
        [turn("奥普浴霸保修多久"), turn("奥普浴霸保修多久", "answered", "retrieval", 0.2)]
    )
    md = format_gaps(groups)
    assert md.startswith("# Knowledge gaps: 2 turns in 1 groups")
    assert "1. **奥普浴霸保修多久** (2×" in md
    assert "escalated (low_confidence) ×1" in md and "answered (confidence 0.20) ×1" in md
    assert "No refused" in format_gaps([])


def test_markdown_caps_the_list():
    groups = [Group(questions=[f"问题{i}"], count=1) for i in range(5)]
    md = format_gaps(groups, limit=2)
    assert "3 smaller groups not shown" in md and "问题3" not in md
