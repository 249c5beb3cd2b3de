"""The number guard: no figure may reach a customer unless its cited text holds it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Digits with the separators figures use here: 400-773-6666, 7:00-23:00, 7×24, 94.6%, 3.2.1.
_DIGIT_TOKEN = re.compile(r"\d+(?:[.:\-×xX/~]\d+)*%?")
# Chinese numerals only count as a figure when a unit follows (两年, 九十天, 八百元).
_CN_TOKEN = re.compile(
    r"[零一二两三四五六七八九十百千万]+(?:个)?(?:年|个月|天|日|小时|分钟|元|块钱|万元)"
)
_DASHES = str.maketrans({"—": "-", "–": "-", "－": "-", "~": "-", "～": "-", "至": "-", "∶": ":"})


def normalize(text: str) -> str:
    """Fold full-width forms and dash variants so equal figures compare equal."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES)


def number_tokens(text: str) -> list[str]:
    """Every figure in a text, normalized, in order."""
    t = normalize(text)
    return [m.group(0) for m in _DIGIT_TOKEN.finditer(t)] + [
        m.group(0) for m in _CN_TOKEN.finditer(t)
    ]


def unsupported_numbers(answer: str, cited_texts: Iterable[str]) -> list[str]:
    """Figures in `answer` that appear in none of the cited texts (empty list = safe)."""
    haystack = "\n".join(normalize(t) for t in cited_texts)
    # Boundaries matter: "9天" is not supported by "90天", but "23:00" is by "7:00-23:00".
    return [
        tok
        for tok in number_tokens(answer)
        if not re.search(rf"(?<![\d.]){re.escape(tok)}(?![\d])", haystack)
    ]


_CITE_MARK = re.compile(r"\[\d+\]")


def keep_supported(sentences: list[str], haystack: list[str]) -> list[str]:
    """The sentences whose every figure is in the cited texts ([n] marks are not figures)."""
    return [x for x in sentences if not unsupported_numbers(_CITE_MARK.sub("", x), haystack)]
