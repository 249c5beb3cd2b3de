"""BM25 over jieba words plus character bigrams (jieba alone misses typos and rare terms)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_NUM = re.compile(r"[a-z]+|\d+(?:[.:\-×/]\d+)*%?")
# After-sales terms jieba's dictionary splits wrongly; a company's own words (product names,
# parts) come from its profile through add_words().
_DOMAIN_WORDS = (
    "售后",
    "转人工",
    "人工客服",
    "以旧换新",
    "全国联保",
    "授权",
    "直营",
    "服务中心",
    "服务网点",
    "维修点",
    "客服热线",
    "服务热线",
    "银发",
    "工单",
    "保修期",
    "电池健康度",
    "闪电服务",
    "首问负责制",
    "灰度测试",
    "翻新机",
    "检测费",
    "公众号",
    "小程序",
)
_STOP = set(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "呀",
        "么",
        "是",
        "我",
        "你",
        "们",
        "在",
        "有",
        "和",
        "就",
        "都",
        "也",
        "要",
        "会",
        "能",
        "可以",
        "怎么",
        "什么",
        "请问",
        "一下",
        "这个",
        "那个",
        "哪个",
    ]
)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    for w in _DOMAIN_WORDS:
        jieba.add_word(w)
    return jieba


def add_words(words: Sequence[str]) -> None:
    """Keep a company's own terms whole when segmenting (jieba's dictionary lacks them)."""
    jb = _jieba()
    for w in words:
        w = w.strip().lower()
        if len(w) > 1 and _CJK_RUN.search(w):
            jb.add_word(w)


def tokenize(text: str) -> list[str]:
    """jieba words, character bigrams of each Chinese run, and Latin/number tokens."""
    text = text.lower()
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        out.extend(w for w in _jieba().lcut(run) if w not in _STOP)
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
        if len(run) == 1 and run not in _STOP:
            out.append(run)
    out.extend(_LATIN_NUM.findall(text))
    return out


class Bm25Index:
    """Keyword scores for a fixed list of texts (built in memory at warm-up: the corpus is small)."""

    def __init__(self, texts: Sequence[str]):
        import bm25s

        self._bm25 = bm25s.BM25()
        self._size = len(texts)
        self._bm25.index([tokenize(t) or ["∅"] for t in texts], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        tokens = tokenize(query)
        if not tokens or self._size == 0:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
