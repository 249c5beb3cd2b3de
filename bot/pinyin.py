"""Questions typed in pinyin ("shouji baoxiu duojiu"), read back in the knowledge's own words.

Customers on a phone keyboard without Chinese input type toneless pinyin. Retrieval, the
reader's topics and the answer's language all work on Chinese, so a turn that is pinyin gets
a Chinese reading: each run of letters is split into syllables and matched, longest first,
against the words the knowledge itself uses ("baoxiu" → 保修, "pingmu" → 屏幕). Only the
knowledge's words are used, never a guess at an arbitrary homophone, and a turn is read as
pinyin only when all of its Latin words are pinyin (brand names aside): "how long is the
warranty" stays English.

pypinyin (the maintained pinyin library) gives each word's reading; it is imported only when
a bot is built.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

_LATIN_RUN = re.compile(r"[a-z]+")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
# Sentence particles customers type in pinyin after a word ("dianchi ne"): generic Chinese.
_PARTICLES = {"ne": "呢", "ma": "吗", "a": "啊", "ya": "呀", "ba": "吧", "le": "了"}
_MAX_WORD = 4  # characters: longer knowledge words are rarely typed as one pinyin run


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable of the common CJK characters."""
    from pypinyin import Style, lazy_pinyin

    chars = "".join(chr(c) for c in range(0x4E00, 0x9FA6))
    return frozenset(s for s in lazy_pinyin(chars, style=Style.NORMAL) if s.isalpha())


def _split(token: str, known: frozenset[str]) -> list[str] | None:
    """`token` as a sequence of syllables (longest first, with backtracking), or None."""
    best: dict[int, list[str] | None] = {len(token): []}
    for i in range(len(token) - 1, -1, -1):
        best[i] = None
        for j in range(min(len(token), i + 6), i, -1):
            rest = best.get(j)
            if token[i:j] in known and rest is not None:
                best[i] = [token[i:j], *rest]
                break
    return best[0]


class PinyinReader:
    """Maps pinyin runs to the words of one knowledge base."""

    def __init__(self, texts: Iterable[str], keep: Iterable[str] = ()):
        from pypinyin import Style, lazy_pinyin

        from bot.index.sparse import _jieba

        jb = _jieba()
        counts: Counter[str] = Counter()
        for text in texts:
            for run in _CJK_RUN.findall(text):
                counts.update(w for w in jb.lcut(run) if 2 <= len(w) <= _MAX_WORD)
        # The knowledge's most frequent word for each reading: "shouji" is 手机, not 收集.
        self.words: dict[str, str] = {}
        for word, _ in counts.most_common():
            key = "".join(lazy_pinyin(word, style=Style.NORMAL))
            if key.isalpha():
                self.words.setdefault(key, word)
        self.keep = frozenset(w.lower() for w in keep)  # brand names typed in Latin letters
        self.known = syllables()

    def is_pinyin(self, text: str) -> bool:
        """Whether every Latin word of the turn, brand names aside, is pinyin and at least one
        of them is a word of the knowledge."""
        tokens = [t for t in _LATIN_RUN.findall(text.lower()) if t not in self.keep]
        if not tokens or not all(_split(t, self.known) for t in tokens):
            return False
        return any(not self._words(t).isascii() for t in tokens)

    def _words(self, token: str) -> str:
        """One run of pinyin with the knowledge's words put in: the longest reading first."""
        parts = _split(token, self.known) or [token]
        out: list[str] = []
        i = 0
        while i < len(parts):
            for j in range(min(len(parts), i + _MAX_WORD), i + 1, -1):
                word = self.words.get("".join(parts[i:j]))
                if word:
                    out.append(word)
                    i = j
                    break
            else:
                out.append(parts[i])
                i += 1
        return "".join(out) if all(not p.isascii() for p in out) else " ".join(out)

    def to_hanzi(self, text: str) -> str:
        """The turn with its pinyin read as the knowledge's words; unchanged if not pinyin."""
        if not self.is_pinyin(text):
            return text

        def word(m: re.Match[str]) -> str:
            t = m.group(0)
            if t.lower() in self.keep:
                return t
            return _PARTICLES.get(t.lower()) or self._words(t.lower())

        return re.sub(r"[A-Za-z]+", word, text)
